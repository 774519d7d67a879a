//! Runs every scenario in `conformance/scenarios/` against the core, on a ManualClock.
//! The format is described in `conformance/README.md`; the same files drive the Python, Node
//! and C runners.

#![cfg(not(loom))]

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use breakwater_core::breaker::{
    BreakerConfig, CircuitBreaker, Outcome, Permit, Rejection, Snapshot,
};
use breakwater_core::classify::{ErrorFacts, classify, parse_retry_after, parse_retry_after_ms};
use breakwater_core::policy::{AttemptOutcome, Policy, Step, Verdict};
use breakwater_core::retry::{Decision, RetryConfig, RetryPolicy, RetryState};
use breakwater_core::{Category, ClockRef, Event, ManualClock};
use breakwater_core::{Classification, ConfigErrors};
use serde_json::{Map, Value};

mod support;
use support::{repo_root, scenario_files};

type Failures = Vec<String>;

struct Ctx {
    clock: Arc<ManualClock>,
    breaker: Option<Arc<CircuitBreaker>>,
    retry: Option<Arc<RetryPolicy>>,
    policy: Option<Policy>,
    calls: HashMap<String, RetryState>,
    permits: HashMap<String, Permit>,
    events: Arc<Mutex<Vec<Event>>>,
    failures: Failures,
    step: usize,
}

impl Ctx {
    fn fail(&mut self, msg: String) {
        self.failures.push(format!("step {}: {msg}", self.step));
    }

    fn breaker(&self) -> Option<&CircuitBreaker> {
        self.breaker.as_deref()
    }
}

const STEP_KEYS: &[&str] = &[
    "op",
    "at",
    "expect",
    "permit",
    "outcome",
    "category",
    "duration_ms",
    "repeat",
    "ms",
    "config",
    "comment",
    "facts",
    "call",
    "attempts",
];
const EXPECT_KEYS: &[&str] = &[
    "permitted",
    "rejected",
    "state",
    "snapshot",
    "events",
    "error",
    "category",
    "not_sent",
    "retry_after_ms",
    "decision",
    "delay_ms",
    "attempt",
    "reason",
    "trace",
    "result",
];
const TOP_KEYS: &[&str] = &[
    "$schema",
    "name",
    "description",
    "rules",
    "component",
    "config",
    "config_error",
    "steps",
    "seed",
    "random",
];
const OPS: &[&str] = &[
    "acquire",
    "record",
    "release",
    "call",
    "advance",
    "force_open",
    "force_close",
    "disable",
    "metrics_only",
    "reset",
    "state",
    "snapshot",
    "configure",
    "classify",
    "start",
    "decide",
    "run",
];

/// Components whose scenarios another test file in core/tests/ runs.
const OTHER_RUNNERS: &[&str] = &[
    "degradation",
    "cache",
    "health",
    "slo",
    "alerts",
    "metrics",
    "registry",
    "document",
];

fn check_keys(obj: &Map<String, Value>, allowed: &[&str], what: &str) -> Result<(), String> {
    for k in obj.keys() {
        if !allowed.contains(&k.as_str()) {
            return Err(format!("unknown key `{k}` in {what}"));
        }
    }
    Ok(())
}

fn outcome_of(step: &Map<String, Value>) -> Result<Outcome, String> {
    let cat = |default: Category| -> Result<Category, String> {
        match step.get("category").and_then(Value::as_str) {
            None => Ok(default),
            Some(s) => s.parse().map_err(|_| format!("unknown category {s}")),
        }
    };
    match step.get("outcome").and_then(Value::as_str) {
        Some("success") => Ok(Outcome::Success),
        Some("failure") => Ok(Outcome::Failure(cat(Category::Unknown)?)),
        Some("ignored") => Ok(Outcome::Ignored(cat(Category::Client)?)),
        other => Err(format!("bad outcome {other:?}")),
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn num_eq(got: f64, want: &Value) -> bool {
    want.as_f64().is_some_and(|w| (got - w).abs() <= 1e-9)
}

fn check_rejection(ctx: &mut Ctx, got: Result<Permit, Rejection>, expect: &Map<String, Value>) {
    match (got, expect.get("rejected")) {
        (Ok(_), Some(r)) => ctx.fail(format!("expected rejection {r}, got a permit")),
        (Err(rej), None)
            if expect.get("permitted") == Some(&Value::Bool(true))
                || !expect.contains_key("rejected") =>
        {
            ctx.fail(format!("expected a permit, got rejection {rej:?}"))
        }
        (Err(rej), Some(r)) => {
            if let Some(code) = r.get("code").and_then(Value::as_str)
                && code != rej.code().as_str()
            {
                ctx.fail(format!("rejection code {} != {code}", rej.code()));
            }
            if let Some(want) = r.get("retry_after_ms") {
                let ok = match (rej.retry_after, want) {
                    (None, Value::Null) => true,
                    (Some(d), w) => num_eq(ms(d), w),
                    _ => false,
                };
                if !ok {
                    ctx.fail(format!(
                        "retry_after {:?} != {want} ms",
                        rej.retry_after.map(ms)
                    ));
                }
            }
        }
        _ => {}
    }
}

fn snapshot_field(s: &Snapshot, key: &str) -> Option<Value> {
    let v = match key {
        "state" => Value::from(s.state.as_str()),
        "state_since_ms" => Value::from(ms(s.state_since)),
        "calls" => Value::from(s.calls),
        "failures" => Value::from(s.failures),
        "slow_calls" => Value::from(s.slow_calls),
        "failure_rate" => Value::from(s.failure_rate),
        "slow_call_rate" => Value::from(s.slow_call_rate),
        "consecutive_failures" => Value::from(s.consecutive_failures),
        "consecutive_successes" => Value::from(s.consecutive_successes),
        "calls_total" => Value::from(s.calls_total),
        "successes_total" => Value::from(s.successes_total),
        "failures_total" => Value::from(s.failures_total),
        "ignored_total" => Value::from(s.ignored_total),
        "rejected_total" => Value::from(s.rejected_total),
        "times_opened" => Value::from(s.times_opened),
        "last_failure_category" => s
            .last_failure_category
            .map_or(Value::Null, |c| Value::from(c.as_str())),
        "retry_after_ms" => s.retry_after.map_or(Value::Null, |d| Value::from(ms(d))),
        _ => return None,
    };
    Some(v)
}

fn values_match(got: &Value, want: &Value) -> bool {
    match (got, want) {
        (Value::Number(g), Value::Number(_)) => num_eq(g.as_f64().unwrap(), want),
        _ => got == want,
    }
}

fn event_field(e: &Event, key: &str) -> Option<Value> {
    let opt = |o: Option<&str>| o.map_or(Value::Null, Value::from);
    let v = match key {
        "kind" => Value::from(e.kind.as_str()),
        "component" => Value::from(&*e.component),
        "at" => Value::from(e.at_ms),
        "from" => opt(e.from.map(|s| s.as_str())),
        "to" => opt(e.to.map(|s| s.as_str())),
        "reason" => opt(e.reason),
        "category" => opt(e.category.map(|c| c.as_str())),
        "duration_ms" => e.duration.map_or(Value::Null, |d| Value::from(ms(d))),
        "delay_ms" => e.delay.map_or(Value::Null, |d| Value::from(ms(d))),
        "attempt" => e.attempt.map_or(Value::Null, Value::from),
        _ => return None,
    };
    Some(v)
}

fn check_expect(ctx: &mut Ctx, expect: &Map<String, Value>, events: &[Event]) {
    if let Some(want) = expect.get("state").and_then(Value::as_str) {
        let Some(b) = ctx.breaker() else {
            return ctx.fail("`state` expected without a breaker".into());
        };
        let got = b.state();
        if got.as_str() != want {
            ctx.fail(format!("state {got} != {want}"));
        }
    }
    if let Some(Value::Object(want)) = expect.get("snapshot") {
        let Some(b) = ctx.breaker() else {
            return ctx.fail("`snapshot` expected without a breaker".into());
        };
        let snap = b.snapshot();
        for (k, w) in want {
            match snapshot_field(&snap, k) {
                None => ctx.fail(format!("unknown snapshot field {k}")),
                Some(g) if !values_match(&g, w) => {
                    ctx.fail(format!("snapshot.{k} = {g}, expected {w}"))
                }
                _ => {}
            }
        }
    }
    if let Some(Value::Array(want)) = expect.get("events") {
        let kinds: Vec<_> = events.iter().map(|e| e.kind.as_str()).collect();
        if want.len() != events.len() {
            ctx.fail(format!(
                "{} events {kinds:?}, expected {}: {}",
                events.len(),
                want.len(),
                Value::from(want.clone())
            ));
            return;
        }
        for (i, (w, e)) in want.iter().zip(events).enumerate() {
            for (k, wv) in w.as_object().into_iter().flatten() {
                match event_field(e, k) {
                    None => ctx.fail(format!("unknown event field {k}")),
                    Some(g) if !values_match(&g, wv) => {
                        ctx.fail(format!("event {i} ({}).{k} = {g}, expected {wv}", e.kind))
                    }
                    _ => {}
                }
            }
        }
    }
}

/// The breaker ops; `b` is the scenario's breaker (or the policy's).
fn breaker_step(
    ctx: &mut Ctx,
    b: &CircuitBreaker,
    op: &str,
    step: &Map<String, Value>,
    expect: &Map<String, Value>,
) {
    match op {
        "acquire" => {
            let r = b.try_acquire();
            if let (Ok(p), Some(name)) = (&r, step.get("permit").and_then(Value::as_str)) {
                ctx.permits.insert(name.to_string(), *p);
            }
            check_rejection(ctx, r, expect);
        }
        "record" | "release" => {
            let name = step.get("permit").and_then(Value::as_str).unwrap_or("");
            match ctx.permits.remove(name) {
                None => ctx.fail(format!("no permit named {name:?}")),
                Some(p) if op == "release" => b.release(p),
                Some(p) => match outcome_of(step) {
                    Ok(o) => b.record(p, o),
                    Err(e) => ctx.fail(e),
                },
            }
        }
        "call" => {
            let repeat = step.get("repeat").and_then(Value::as_u64).unwrap_or(1);
            let duration =
                Duration::from_millis(step.get("duration_ms").and_then(Value::as_u64).unwrap_or(0));
            match outcome_of(step) {
                Err(e) => ctx.fail(e),
                Ok(outcome) => {
                    let mut rejected = false;
                    for _ in 0..repeat {
                        match b.try_acquire() {
                            Ok(p) => {
                                ctx.clock.advance(duration);
                                b.record(p, outcome);
                            }
                            Err(rej) => {
                                rejected = true;
                                check_rejection(ctx, Err(rej), expect);
                                break;
                            }
                        }
                    }
                    if expect.contains_key("rejected") && !rejected {
                        ctx.fail("expected the call to be rejected".into());
                    }
                }
            }
        }
        "advance" => ctx.clock.advance(Duration::from_millis(
            step.get("ms").and_then(Value::as_u64).unwrap_or(0),
        )),
        "force_open" => drop(b.force_open()),
        "force_close" => drop(b.force_close()),
        "disable" => drop(b.disable()),
        "metrics_only" => drop(b.metrics_only()),
        "reset" => drop(b.reset()),
        "state" | "snapshot" => {}
        "configure" => {
            let cfg = step
                .get("config")
                .cloned()
                .unwrap_or(Value::Object(Map::new()));
            let result =
                BreakerConfig::from_json_over(&b.config(), &cfg).and_then(|c| b.configure(c));
            match (result, expect.get("error")) {
                (Ok(()), Some(w)) => ctx.fail(format!("configure accepted, expected {w}")),
                (Err(e), None) => ctx.fail(format!("configure rejected: {e}")),
                (Err(e), Some(w)) => {
                    if w.get("key")
                        .and_then(Value::as_str)
                        .is_some_and(|k| k != e.first().key)
                    {
                        ctx.fail(format!(
                            "configure error key {} != {}",
                            e.first().key,
                            w["key"]
                        ));
                    }
                }
                (Ok(()), None) => {}
            }
        }
        other => ctx.fail(format!("unknown op {other:?}")),
    }
}

/// Reads failure facts (as a host would extract them) and classifies them with the core.
fn facts_of(ctx: &Ctx, v: Option<&Value>) -> Result<Classification, String> {
    let empty = Map::new();
    let f = match v {
        None => &empty,
        Some(Value::Object(m)) => m,
        Some(other) => return Err(format!("facts must be an object, got {other}")),
    };
    for k in f.keys() {
        let known = [
            "status",
            "codes",
            "timeout",
            "connection_refused",
            "cancelled",
            "abort_reason_timeout",
            "user_category",
            "retry_after",
            "retry_after_ms",
        ];
        if !known.contains(&k.as_str()) {
            return Err(format!("unknown fact {k}"));
        }
    }
    let codes: Vec<&str> = f
        .get("codes")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let flag = |k: &str| f.get(k).and_then(Value::as_bool).unwrap_or(false);
    let user_category = match f.get("user_category").and_then(Value::as_str) {
        None => None,
        Some(c) => Some(c.parse().map_err(|_| format!("unknown category {c}"))?),
    };
    let now_wall = breakwater_core::Clock::wall_ms(&*ctx.clock);
    let retry_after = match (f.get("retry_after"), f.get("retry_after_ms")) {
        (_, Some(v)) => parse_retry_after_ms(v.as_str().unwrap_or_default()),
        (Some(v), None) => parse_retry_after(v.as_str().unwrap_or_default(), now_wall),
        (None, None) => None,
    };
    Ok(classify(&ErrorFacts {
        user_category,
        http_status: f.get("status").and_then(Value::as_u64).map(|s| s as u16),
        codes: &codes,
        timeout: flag("timeout"),
        connection_refused: flag("connection_refused"),
        cancelled: flag("cancelled"),
        abort_reason_timeout: flag("abort_reason_timeout"),
        retry_after,
    }))
}

/// A failure given either as `category` (+ optional facts for Retry-After) or as raw facts.
fn failure_of(ctx: &Ctx, entry: &Map<String, Value>) -> Result<Classification, String> {
    let mut c = facts_of(ctx, entry.get("facts"))?;
    if let Some(cat) = entry.get("category").and_then(Value::as_str) {
        c.category = cat.parse().map_err(|_| format!("unknown category {cat}"))?;
    }
    Ok(c)
}

fn expect_value(ctx: &mut Ctx, expect: &Map<String, Value>, key: &str, got: Value) {
    if let Some(want) = expect.get(key)
        && !values_match(&got, want)
    {
        ctx.fail(format!("{key} = {got}, expected {want}"));
    }
}

fn classify_step(ctx: &mut Ctx, step: &Map<String, Value>, expect: &Map<String, Value>) {
    match facts_of(ctx, step.get("facts")) {
        Err(e) => ctx.fail(e),
        Ok(c) => {
            expect_value(ctx, expect, "category", Value::from(c.category.as_str()));
            expect_value(ctx, expect, "not_sent", Value::from(c.not_sent));
            let ra = c.retry_after.map_or(Value::Null, |d| Value::from(ms(d)));
            expect_value(ctx, expect, "retry_after_ms", ra);
        }
    }
}

fn retry_step(ctx: &mut Ctx, op: &str, step: &Map<String, Value>, expect: &Map<String, Value>) {
    let Some(retry) = ctx.retry.clone() else {
        return ctx.fail(format!("op {op} needs a retry component"));
    };
    let name = step
        .get("call")
        .and_then(Value::as_str)
        .unwrap_or("c")
        .to_string();
    let now = breakwater_core::Clock::now(&*ctx.clock);
    if op == "start" {
        ctx.calls.insert(name, retry.begin(now));
        return;
    }
    let failure = match failure_of(ctx, step) {
        Ok(f) => f,
        Err(e) => return ctx.fail(e),
    };
    let Some(mut state) = ctx.calls.remove(&name) else {
        return ctx.fail(format!("no call named {name:?} (start it first)"));
    };
    let decision = retry.decide(&mut state, &failure, now);
    ctx.calls.insert(name, state);
    match decision {
        Decision::Retry { delay, attempt } => {
            expect_value(ctx, expect, "decision", Value::from("retry"));
            expect_value(ctx, expect, "delay_ms", Value::from(ms(delay)));
            expect_value(ctx, expect, "attempt", Value::from(attempt));
            if expect.contains_key("reason") {
                ctx.fail(format!("expected a give-up, got a retry after {delay:?}"));
            }
        }
        Decision::GiveUp(reason) => {
            expect_value(ctx, expect, "decision", Value::from("give_up"));
            expect_value(ctx, expect, "reason", Value::from(reason.as_str()));
            if expect.contains_key("delay_ms") {
                ctx.fail(format!("expected a retry, gave up: {reason}"));
            }
        }
    }
}

fn verdict_json(v: &Verdict, fallback: bool) -> Value {
    let mut m = Map::new();
    let kind = match v {
        Verdict::Value => "value",
        Verdict::UserError => "user_error",
        Verdict::RetryExhausted { attempts, reason } => {
            m.insert("attempts".into(), Value::from(*attempts));
            m.insert("reason".into(), Value::from(reason.as_str()));
            "retry_exhausted"
        }
        Verdict::Rejected {
            code,
            state,
            retry_after,
            attempts,
        } => {
            m.insert("code".into(), Value::from(code.as_str()));
            m.insert(
                "state".into(),
                state.map_or(Value::Null, |s| Value::from(s.as_str())),
            );
            m.insert(
                "retry_after_ms".into(),
                retry_after.map_or(Value::Null, |d| Value::from(ms(d))),
            );
            m.insert("attempts".into(), Value::from(*attempts));
            "rejected"
        }
        Verdict::Cancelled => "cancelled",
    };
    m.insert("kind".into(), Value::from(kind));
    m.insert("fallback".into(), Value::from(fallback));
    Value::Object(m)
}

/// Drives one guarded call through the policy: `attempts` script each attempt's outcome;
/// sleeps advance the ManualClock.
fn run_step(ctx: &mut Ctx, step: &Map<String, Value>, expect: &Map<String, Value>) {
    let Some(policy) = ctx.policy.take() else {
        return ctx.fail("op run needs a policy".into());
    };
    let script = step
        .get("attempts")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut next = script.iter();
    let mut trace = Vec::new();
    let (mut call, mut s) = policy.start();
    let result = loop {
        match s {
            Step::Attempt { attempt, .. } => {
                trace.push(Value::from(format!("attempt:{attempt}")));
                let Some(entry) = next.next().and_then(Value::as_object) else {
                    ctx.fail(format!(
                        "the policy asked for attempt {attempt}; the script has no more"
                    ));
                    break None;
                };
                let d = entry
                    .get("duration_ms")
                    .and_then(Value::as_u64)
                    .unwrap_or(0);
                ctx.clock.advance(Duration::from_millis(d));
                let outcome = match entry.get("outcome").and_then(Value::as_str) {
                    Some("success") => AttemptOutcome::Success,
                    Some("cancelled") => AttemptOutcome::Cancelled,
                    Some("failure") => match failure_of(ctx, entry) {
                        Ok(c) => AttemptOutcome::Failure(c),
                        Err(e) => {
                            ctx.fail(e);
                            break None;
                        }
                    },
                    other => {
                        ctx.fail(format!("bad attempt outcome {other:?}"));
                        break None;
                    }
                };
                s = policy.on_outcome(&mut call, outcome);
            }
            Step::Sleep { delay } => {
                trace.push(Value::from(format!("sleep:{}", ms(delay))));
                ctx.clock.advance(delay);
                s = policy.after_sleep(&mut call);
            }
            Step::Wait { max_wait, .. } => {
                // One call at a time: nobody can wake it, so the wait runs out.
                trace.push(Value::from(format!("wait:{}", ms(max_wait))));
                ctx.clock.advance(max_wait);
                s = policy.after_wait(&mut call, false);
            }
            Step::Fallback(v) => {
                // The host's fallback function serves the call.
                policy.fallback_served(&call, None);
                break Some(verdict_json(&v, true));
            }
            Step::Done(v) => break Some(verdict_json(&v, false)),
        }
    };
    ctx.policy = Some(policy);
    if next.next().is_some() {
        ctx.fail("the script has attempts the policy never made".into());
    }
    if let Some(want) = expect.get("trace")
        && *want != Value::from(trace.clone())
    {
        ctx.fail(format!("trace {} != {want}", Value::from(trace)));
    }
    if let (Some(Value::Object(want)), Some(Value::Object(got))) = (expect.get("result"), result) {
        for (k, w) in want {
            match got.get(k) {
                Some(g) if values_match(g, w) => {}
                g => ctx.fail(format!("result.{k} = {g:?}, expected {w}")),
            }
        }
    }
}

/// The objects a scenario exercises, built from its config.
#[derive(Default)]
struct Setup {
    breaker: Option<Arc<CircuitBreaker>>,
    retry: Option<Arc<RetryPolicy>>,
    policy: Option<Policy>,
}

fn build(component: &str, config: &Value, clock: &Arc<ManualClock>) -> Result<Setup, ConfigErrors> {
    let manual = ClockRef::Manual(clock.clone());
    let breaker = |v: &Value| -> Result<Arc<CircuitBreaker>, ConfigErrors> {
        Ok(Arc::new(CircuitBreaker::new(
            "test",
            BreakerConfig::from_json(v)?,
            manual.clone(),
        )?))
    };
    let retry = |v: &Value| -> Result<Arc<RetryPolicy>, ConfigErrors> {
        Ok(Arc::new(RetryPolicy::new(
            RetryConfig::from_json(v)?,
            0,
            None,
        )?))
    };
    Ok(match component {
        "breaker" => Setup {
            breaker: Some(breaker(config)?),
            ..Setup::default()
        },
        "retry" => Setup {
            retry: Some(retry(config)?),
            ..Setup::default()
        },
        "classify" => Setup::default(),
        "policy" => {
            let parts = support::policy_parts("test", config, clock)?;
            let (b, r) = (parts.breaker.clone(), parts.retry.clone());
            Setup {
                breaker: b,
                retry: r,
                policy: Some(Policy::new("test", parts)?),
            }
        }
        other => panic!("unknown component {other}"),
    })
}

fn run_scenario(component: &str, doc: &Map<String, Value>) -> Failures {
    let config_doc = doc
        .get("config")
        .cloned()
        .unwrap_or(Value::Object(Map::new()));
    let clock = Arc::new(ManualClock::new());
    let parsed = build(component, &config_doc, &clock);
    if let Some(want) = doc.get("config_error") {
        return match parsed {
            Ok(_) => vec![format!("config accepted, expected error {want}")],
            Err(e) => {
                let first = e.first();
                let mut f = Vec::new();
                if want
                    .get("code")
                    .and_then(Value::as_str)
                    .is_some_and(|c| c != e.code().as_str())
                {
                    f.push(format!("code {} != {}", e.code(), want["code"]));
                }
                if want
                    .get("key")
                    .and_then(Value::as_str)
                    .is_some_and(|k| k != first.key)
                {
                    f.push(format!(
                        "error key {} != {} (all: {e})",
                        first.key, want["key"]
                    ));
                }
                f
            }
        };
    }
    let setup = match parsed {
        Ok(s) => s,
        Err(e) => return vec![format!("config rejected: {e}")],
    };
    let events = Arc::new(Mutex::new(Vec::new()));
    let listener = {
        let sink = events.clone();
        Arc::new(move |e: &Event| sink.lock().unwrap().push(e.clone()))
    };
    if let Some(b) = &setup.breaker {
        b.subscribe(None, listener.clone());
    }
    if let Some(p) = &setup.policy {
        p.subscribe(None, listener);
    }
    let mut ctx = Ctx {
        clock,
        breaker: setup.breaker,
        retry: setup.retry,
        policy: setup.policy,
        calls: HashMap::new(),
        permits: HashMap::new(),
        events,
        failures: Vec::new(),
        step: 0,
    };

    let steps = doc
        .get("steps")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for (i, step) in steps.iter().enumerate() {
        ctx.step = i;
        let Some(step) = step.as_object() else {
            ctx.fail("step is not an object".into());
            continue;
        };
        if let Err(e) = check_keys(step, STEP_KEYS, "step") {
            ctx.fail(e);
        }
        let empty = Map::new();
        let expect = step
            .get("expect")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        if let Err(e) = check_keys(expect, EXPECT_KEYS, "expect") {
            ctx.fail(e);
        }
        if let Some(at) = step.get("at").and_then(Value::as_u64)
            && !ctx.clock.set(Duration::from_millis(at))
        {
            ctx.fail(format!("`at` {at} moves the clock backwards"));
        }
        ctx.events.lock().unwrap().clear();
        let op = step.get("op").and_then(Value::as_str).unwrap_or("");
        match op {
            "classify" => classify_step(&mut ctx, step, expect),
            "start" | "decide" => retry_step(&mut ctx, op, step, expect),
            "run" => run_step(&mut ctx, step, expect),
            "advance" => ctx.clock.advance(Duration::from_millis(
                step.get("ms").and_then(Value::as_u64).unwrap_or(0),
            )),
            _ => match ctx.breaker.clone() {
                None => ctx.fail(format!("op {op:?} needs a breaker")),
                Some(b) => breaker_step(&mut ctx, &b, op, step, expect),
            },
        }
        let events = std::mem::take(&mut *ctx.events.lock().unwrap());
        check_expect(&mut ctx, expect, &events);
    }
    ctx.failures
}

fn run_file(path: &Path) -> Failures {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => return vec![format!("unreadable: {e}")],
    };
    let doc: Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(e) => return vec![format!("not JSON: {e}")],
    };
    let Some(doc) = doc.as_object() else {
        return vec!["not an object".into()];
    };
    if let Err(e) = check_keys(doc, TOP_KEYS, "scenario") {
        return vec![e];
    }
    if doc
        .get("rules")
        .and_then(Value::as_array)
        .is_none_or(|r| r.is_empty())
    {
        return vec!["cites no rule".into()];
    }
    let component = doc.get("component").and_then(Value::as_str).unwrap_or("");
    let own_ops = !OTHER_RUNNERS.contains(&component);
    for step in doc
        .get("steps")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let op = step.get("op").and_then(Value::as_str).unwrap_or("");
        if own_ops && !OPS.contains(&op) {
            return vec![format!("unknown op {op:?}")];
        }
    }
    match doc.get("component").and_then(Value::as_str) {
        Some(c @ ("breaker" | "retry" | "policy" | "classify")) => run_scenario(c, doc),
        // Run by their own test files (core/tests/conformance_<component>.rs).
        Some(c) if OTHER_RUNNERS.contains(&c) => Vec::new(),
        other => vec![format!("unknown component {other:?}")],
    }
}

#[test]
fn every_scenario_passes() {
    let files = scenario_files();
    assert!(!files.is_empty(), "no scenarios found");
    let mut report = Vec::new();
    for f in &files {
        let failures = run_file(f);
        if !failures.is_empty() {
            let name = f
                .strip_prefix(repo_root())
                .unwrap_or(f)
                .display()
                .to_string();
            report.push(format!("{name}:\n    {}", failures.join("\n    ")));
        }
    }
    assert!(
        report.is_empty(),
        "{} of {} scenarios failed:\n{}",
        report.len(),
        files.len(),
        report.join("\n")
    );
}

/// Every rule a scenario cites is defined in docs/semantics, and every defined rule is cited.
#[test]
fn rules_and_scenarios_cite_each_other() {
    let mut defined = BTreeSet::new();
    let docs = repo_root().join("docs/semantics");
    for e in std::fs::read_dir(&docs).unwrap().flatten() {
        if e.path().extension().is_some_and(|x| x == "md") {
            let text = std::fs::read_to_string(e.path()).unwrap();
            let mut rest = text.as_str();
            while let Some(i) = rest.find('[') {
                rest = &rest[i + 1..];
                if let Some(j) = rest.find(']') {
                    let id = &rest[..j];
                    let is_id = id.contains('.')
                        && id.chars().all(|c| {
                            c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-'
                        })
                        && !rest[j + 1..].starts_with('(');
                    if is_id {
                        defined.insert(id.to_string());
                    }
                }
            }
        }
    }
    let mut cited = BTreeSet::new();
    for f in scenario_files() {
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(&f).unwrap()).unwrap();
        for r in doc["rules"].as_array().into_iter().flatten() {
            cited.insert(r.as_str().unwrap_or_default().to_string());
        }
    }
    let undefined: Vec<_> = cited.difference(&defined).collect();
    let uncited: Vec<_> = defined.difference(&cited).collect();
    assert!(
        undefined.is_empty(),
        "scenarios cite rules no doc defines: {undefined:?}"
    );
    assert!(uncited.is_empty(), "rules no scenario cites: {uncited:?}");
}
