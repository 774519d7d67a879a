//! Runs the `degradation` and `cache` scenarios in `conformance/scenarios/` against the core,
//! on a ManualClock. The format is in `conformance/README.md` ("Degradation and cache"); the
//! Python, Node and C runners read the same files.

#![cfg(not(loom))]

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use breakwater_core::breaker::CircuitBreaker;
use breakwater_core::policy::{AttemptOutcome, CallInfo, FallbackInput, Policy, Step, Verdict};
use breakwater_core::{
    CacheConfig, Category, Classification, ClockRef, ConfigErrors, DegradationConfig,
    DegradationManager, Event, FallbackChoice, FallbackContext, Freshness, Level, ManualClock,
    ResponseCache, StrategyKind, StrategySpec, Trigger,
};
use serde_json::{Map, Value};

const COMPONENTS: &[&str] = &["degradation", "cache"];
/// The component name every scenario uses, and the name of the scenario's policy.
const NAME: &str = "test";

mod support;
use support::{repo_root, scenario_files};

// ---------------------------------------------------------------------------------------------
// Shared helpers

struct Out {
    failures: Vec<String>,
    step: usize,
}

impl Out {
    fn fail(&mut self, msg: impl Into<String>) {
        self.failures
            .push(format!("step {}: {}", self.step, msg.into()));
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn values_match(got: &Value, want: &Value) -> bool {
    match (got, want) {
        (Value::Number(g), Value::Number(w)) => {
            (g.as_f64().unwrap() - w.as_f64().unwrap()).abs() <= 1e-9
        }
        _ => got == want,
    }
}

fn opt_str(s: Option<&str>) -> Value {
    s.map_or(Value::Null, Value::from)
}

fn opt_ms(d: Option<Duration>) -> Value {
    d.map_or(Value::Null, |d| Value::from(ms(d)))
}

/// Compares `want`'s keys against `got` (which must know every key).
fn check_subset(out: &mut Out, what: &str, got: &Map<String, Value>, want: &Value) {
    let Some(want) = want.as_object() else {
        return out.fail(format!("{what}: expected an object, got {want}"));
    };
    for (k, w) in want {
        match got.get(k) {
            None => out.fail(format!("{what}: unknown field {k}")),
            Some(g) if !values_match(g, w) => out.fail(format!("{what}.{k} = {g}, expected {w}")),
            _ => {}
        }
    }
}

fn check_value(out: &mut Out, expect: &Map<String, Value>, key: &str, got: Value) {
    if let Some(want) = expect.get(key)
        && !values_match(&got, want)
    {
        out.fail(format!("{key} = {got}, expected {want}"));
    }
}

fn check_keys(obj: &Map<String, Value>, allowed: &[&str], what: &str) -> Result<(), String> {
    for k in obj.keys() {
        if !allowed.contains(&k.as_str()) {
            return Err(format!("unknown key `{k}` in {what}"));
        }
    }
    Ok(())
}

fn str_arg<'a>(step: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    step.get(key).and_then(Value::as_str)
}

fn config_error_matches(e: &ConfigErrors, want: &Value) -> Vec<String> {
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
        .is_some_and(|k| k != e.first().key)
    {
        f.push(format!(
            "error key {} != {} (all: {e})",
            e.first().key,
            want["key"]
        ));
    }
    f
}

// ---------------------------------------------------------------------------------------------
// Degradation

const DEGRADATION_OPS: &[(&str, &[&str])] = &[
    (
        "register",
        &["strategy", "kind", "priority", "available", "handles"],
    ),
    ("unregister", &["strategy"]),
    ("set_available", &["strategy", "available"]),
    ("trigger", &["target", "trigger", "severity", "status"]),
    (
        "fallback",
        &["target", "trigger", "severity", "status", "cached"],
    ),
    (
        "choose",
        &["target", "trigger", "severity", "status", "cached"],
    ),
    ("clear", &["target", "trigger"]),
    ("success", &["target"]),
    ("breaker_state", &["target", "state"]),
    ("health_status", &["target", "status"]),
    ("force_recovery", &["target"]),
    ("force_recovery_all", &[]),
    ("configure", &["config"]),
    ("advance", &["ms"]),
    ("inspect", &[]),
    ("run", &["attempts", "cached"]),
    ("force_open", &[]),
    ("force_close", &[]),
];

const DEGRADATION_EXPECT: &[&str] = &[
    "changed",
    "recovered",
    "strategy",
    "kind",
    "rule",
    "stale",
    "level",
    "overall_level",
    "active",
    "history",
    "statistics",
    "events",
    "trace",
    "result",
    "info",
    "error",
];

struct Deg {
    clock: Arc<ManualClock>,
    manager: Arc<DegradationManager>,
    policy: Option<Policy>,
    breaker: Option<Arc<CircuitBreaker>>,
    policy_fallback: bool,
    events: Arc<Mutex<Vec<Event>>>,
}

fn build_degradation(config: &Value, clock: &Arc<ManualClock>) -> Result<Deg, ConfigErrors> {
    let manual = ClockRef::Manual(clock.clone());
    let mut settings = config.as_object().cloned().unwrap_or_default();
    let policy_cfg = settings.remove("policy");
    let manager = Arc::new(DegradationManager::new(
        DegradationConfig::from_json(&Value::Object(settings))?,
        manual.clone(),
    )?);
    let mut deg = Deg {
        clock: clock.clone(),
        manager: manager.clone(),
        policy: None,
        breaker: None,
        policy_fallback: false,
        events: Arc::new(Mutex::new(Vec::new())),
    };
    if let Some(pc) = policy_cfg {
        let parts = support::policy_parts(NAME, &pc, clock)?;
        deg.policy_fallback = parts.fallback;
        let breaker = parts.breaker.clone();
        deg.policy = Some(Policy::new(NAME, parts)?.with_degradation(manager)?);
        deg.breaker = breaker;
    }
    let sink = deg.events.clone();
    deg.manager.subscribe(
        None,
        Arc::new(move |e: &Event| sink.lock().unwrap().push(e.clone())),
    );
    Ok(deg)
}

fn level_of(step: &Map<String, Value>, trigger: Trigger) -> Result<Level, String> {
    if let Some(s) = str_arg(step, "severity") {
        return s.parse().map_err(|()| format!("unknown level {s}"));
    }
    if let Some(s) = str_arg(step, "status") {
        return Level::from_health_status(s).ok_or(format!("unknown health status {s}"));
    }
    trigger
        .default_level()
        .ok_or(format!("trigger {trigger} needs a severity or a status"))
}

fn trigger_of(step: &Map<String, Value>) -> Result<Trigger, String> {
    let s = str_arg(step, "trigger").ok_or("missing trigger")?;
    s.parse().map_err(|()| format!("unknown trigger {s}"))
}

fn cached_of(v: Option<&Value>) -> Result<Option<Freshness>, String> {
    match v.and_then(Value::as_str) {
        None => Ok(None),
        Some("fresh") => Ok(Some(Freshness::Fresh)),
        Some("stale") => Ok(Some(Freshness::Stale)),
        Some(other) => Err(format!("bad cached {other}")),
    }
}

fn context_of(step: &Map<String, Value>) -> Result<FallbackContext, String> {
    let trigger = trigger_of(step)?;
    let level = level_of(step, trigger)?;
    Ok(
        FallbackContext::new(str_arg(step, "target").unwrap_or(NAME), trigger)
            .with_severity(level)
            .with_cached(cached_of(step.get("cached"))?),
    )
}

fn choice_fields(out: &mut Out, expect: &Map<String, Value>, choice: Option<&FallbackChoice>) {
    check_value(
        out,
        expect,
        "strategy",
        opt_str(choice.map(|c| &*c.strategy)),
    );
    check_value(
        out,
        expect,
        "kind",
        opt_str(choice.map(|c| c.kind.as_str())),
    );
    check_value(
        out,
        expect,
        "rule",
        opt_str(choice.and_then(|c| c.rule.as_deref())),
    );
    check_value(
        out,
        expect,
        "stale",
        Value::from(choice.is_some_and(|c| c.stale)),
    );
}

fn info_json(info: &CallInfo) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("from_fallback".into(), Value::from(info.from_fallback));
    m.insert("strategy".into(), opt_str(info.strategy.as_deref()));
    m.insert("kind".into(), opt_str(info.kind.map(|k| k.as_str())));
    m.insert("reason".into(), opt_str(info.reason.map(|t| t.as_str())));
    m.insert("stale".into(), Value::from(info.stale));
    m.insert("attempts".into(), Value::from(info.attempts));
    m
}

fn verdict_json(v: &Verdict, fallback: bool) -> Map<String, Value> {
    let mut m = Map::new();
    let kind = match v {
        Verdict::Value => "value",
        Verdict::UserError => "user_error",
        Verdict::RetryExhausted { attempts, reason } => {
            m.insert("attempts".into(), Value::from(*attempts));
            m.insert("reason".into(), Value::from(reason.as_str()));
            "retry_exhausted"
        }
        Verdict::Rejected { code, attempts, .. } => {
            m.insert("code".into(), Value::from(code.as_str()));
            m.insert("attempts".into(), Value::from(*attempts));
            "rejected"
        }
        Verdict::Cancelled => "cancelled",
    };
    m.insert("kind".into(), Value::from(kind));
    m.insert("fallback".into(), Value::from(fallback));
    m
}

fn attempt_outcome(entry: &Map<String, Value>) -> Result<AttemptOutcome, String> {
    match str_arg(entry, "outcome") {
        Some("success") => Ok(AttemptOutcome::Success),
        Some("cancelled") => Ok(AttemptOutcome::Cancelled),
        Some("failure") => {
            let cat: Category = match str_arg(entry, "category") {
                None => Category::Unknown,
                Some(c) => c.parse().map_err(|()| format!("unknown category {c}"))?,
            };
            Ok(AttemptOutcome::Failure(Classification::of(cat)))
        }
        other => Err(format!("bad attempt outcome {other:?}")),
    }
}

fn run_step(d: &mut Deg, out: &mut Out, step: &Map<String, Value>, expect: &Map<String, Value>) {
    let Some(policy) = d.policy.as_ref() else {
        return out.fail("op run needs a `policy` in the config");
    };
    let cached = match cached_of(step.get("cached")) {
        Ok(c) => c,
        Err(e) => return out.fail(e),
    };
    let script = step
        .get("attempts")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut next = script.iter();
    let mut trace = Vec::new();
    let (mut call, mut s) = policy.start();
    let (result, info) = loop {
        match s {
            Step::Attempt { attempt, .. } => {
                trace.push(Value::from(format!("attempt:{attempt}")));
                let Some(entry) = next.next().and_then(Value::as_object) else {
                    out.fail(format!(
                        "the policy asked for attempt {attempt}; the script has no more"
                    ));
                    return;
                };
                let dur = entry
                    .get("duration_ms")
                    .and_then(Value::as_u64)
                    .unwrap_or(0);
                d.clock.advance(Duration::from_millis(dur));
                match attempt_outcome(entry) {
                    Ok(o) => s = policy.on_outcome(&mut call, o),
                    Err(e) => return out.fail(e),
                }
            }
            Step::Sleep { delay } => {
                trace.push(Value::from(format!("sleep:{}", ms(delay))));
                d.clock.advance(delay);
                s = policy.after_sleep(&mut call);
            }
            Step::Wait { max_wait, .. } => {
                trace.push(Value::from(format!("wait:{}", ms(max_wait))));
                d.clock.advance(max_wait);
                s = policy.after_wait(&mut call, false);
            }
            Step::Fallback(v) => {
                let input = FallbackInput {
                    cache_key: None,
                    cached,
                };
                let info = match policy.choose_fallback(&call, &input) {
                    Some(choice) => Some(call.fallback_info(Some(&choice))),
                    None if d.policy_fallback => Some(call.fallback_info(None)),
                    None => None,
                };
                break (verdict_json(&v, true), info);
            }
            Step::Done(v) => {
                let info = matches!(v, Verdict::Value).then(|| call.info());
                break (verdict_json(&v, false), info);
            }
        }
    };
    if next.next().is_some() {
        out.fail("the script has attempts the policy never made");
    }
    if let Some(want) = expect.get("trace")
        && *want != Value::from(trace.clone())
    {
        out.fail(format!("trace {} != {want}", Value::from(trace)));
    }
    if let Some(want) = expect.get("result") {
        check_subset(out, "result", &result, want);
    }
    match (expect.get("info"), info) {
        (None, _) => {}
        (Some(Value::Null), None) => {}
        (Some(Value::Null), Some(i)) => out.fail(format!("info {:?}, expected null", i)),
        (Some(w), None) => out.fail(format!("info null, expected {w}")),
        (Some(w), Some(i)) => check_subset(out, "info", &info_json(&i), w),
    }
}

fn event_json(e: &Event) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("kind".into(), Value::from(e.kind.as_str()));
    m.insert("component".into(), Value::from(&*e.component));
    m.insert("at".into(), Value::from(e.at_ms));
    m.insert("reason".into(), opt_str(e.reason));
    m.insert("severity".into(), opt_str(e.severity));
    m.insert("strategy".into(), opt_str(e.strategy.as_deref()));
    m.insert("duration_ms".into(), opt_ms(e.duration));
    m
}

fn check_events(out: &mut Out, want: &Value, events: &[Event]) {
    let Some(want) = want.as_array() else {
        return out.fail("events: expected a list");
    };
    if want.len() != events.len() {
        let kinds: Vec<_> = events.iter().map(|e| e.kind.as_str()).collect();
        return out.fail(format!(
            "{} events {kinds:?}, expected {}: {}",
            events.len(),
            want.len(),
            Value::from(want.clone())
        ));
    }
    for (i, (w, e)) in want.iter().zip(events).enumerate() {
        check_subset(out, &format!("event {i} ({})", e.kind), &event_json(e), w);
    }
}

fn degradation_expect(
    d: &Deg,
    out: &mut Out,
    step: &Map<String, Value>,
    expect: &Map<String, Value>,
) {
    let m = &d.manager;
    if expect.contains_key("level") {
        let target = str_arg(step, "target").unwrap_or(NAME);
        check_value(out, expect, "level", Value::from(m.level(target).as_str()));
    }
    check_value(
        out,
        expect,
        "overall_level",
        Value::from(m.overall_level().as_str()),
    );
    if let Some(want) = expect.get("active") {
        let Some(want) = want.as_object() else {
            return out.fail("active: expected an object");
        };
        let all = m.active_all();
        let names: Vec<&str> = all.iter().map(|a| &*a.component).collect();
        let mut wanted: Vec<&str> = want.keys().map(String::as_str).collect();
        wanted.sort();
        if names != wanted {
            out.fail(format!("active components {names:?}, expected {wanted:?}"));
        }
        for a in &all {
            if let Some(w) = want.get(&*a.component) {
                let mut g = Map::new();
                g.insert("level".into(), Value::from(a.level.as_str()));
                g.insert("trigger".into(), Value::from(a.trigger.as_str()));
                g.insert("strategy".into(), opt_str(a.strategy.as_deref()));
                g.insert("calls_served".into(), Value::from(a.calls_served));
                g.insert("since_ms".into(), Value::from(a.since as f64 / 1e6));
                g.insert("started_at".into(), Value::from(a.started_at_ms));
                check_subset(out, &format!("active.{}", a.component), &g, w);
            }
        }
    }
    if let Some(want) = expect.get("history") {
        let Some(want) = want.as_array() else {
            return out.fail("history: expected a list");
        };
        let h = m.history();
        if h.len() != want.len() {
            out.fail(format!(
                "history has {} entries, expected {}",
                h.len(),
                want.len()
            ));
        } else {
            for (i, (e, w)) in h.iter().zip(want).enumerate() {
                let mut g = Map::new();
                g.insert("component".into(), Value::from(&*e.component));
                g.insert("trigger".into(), Value::from(e.trigger.as_str()));
                g.insert("level".into(), Value::from(e.level.as_str()));
                g.insert("since_ms".into(), Value::from(e.since as f64 / 1e6));
                g.insert("duration_ms".into(), opt_ms(e.duration));
                g.insert("strategy".into(), opt_str(e.strategy.as_deref()));
                g.insert("calls_served".into(), Value::from(e.calls_served));
                g.insert("recovery".into(), opt_str(e.recovery.map(|r| r.as_str())));
                check_subset(out, &format!("history[{i}]"), &g, w);
            }
        }
    }
    if let Some(want) = expect.get("statistics") {
        let s = m.statistics();
        let mut g = Map::new();
        g.insert("active".into(), Value::from(s.active));
        g.insert("total_triggered".into(), Value::from(s.total_triggered));
        g.insert("total_recovered".into(), Value::from(s.total_recovered));
        g.insert("calls_served".into(), Value::from(s.calls_served));
        g.insert(
            "most_frequent_reason".into(),
            opt_str(s.most_frequent_reason.map(|t| t.as_str())),
        );
        g.insert("mean_duration_ms".into(), opt_ms(s.mean_duration));
        g.insert("max_duration_ms".into(), opt_ms(s.max_duration));
        check_subset(out, "statistics", &g, want);
    }
}

fn degradation_step(
    d: &mut Deg,
    out: &mut Out,
    op: &str,
    step: &Map<String, Value>,
    expect: &Map<String, Value>,
) {
    let m = d.manager.clone();
    let target = str_arg(step, "target").unwrap_or(NAME);
    match op {
        "register" => {
            let name = str_arg(step, "strategy").unwrap_or_default();
            let kind: StrategyKind = match str_arg(step, "kind").unwrap_or("custom").parse() {
                Ok(k) => k,
                Err(()) => return out.fail(format!("unknown kind {:?}", step.get("kind"))),
            };
            let priority = step.get("priority").and_then(Value::as_u64).unwrap_or(0) as u32;
            let mut spec = StrategySpec::new(name, kind, priority).available(
                step.get("available")
                    .and_then(Value::as_bool)
                    .unwrap_or(true),
            );
            if let Some(list) = step.get("handles").and_then(Value::as_array) {
                // The host's own can_handle, as a predicate.
                let mut handles = Vec::new();
                for t in list {
                    match t.as_str().and_then(|s| s.parse::<Trigger>().ok()) {
                        Some(t) => handles.push(t),
                        None => return out.fail(format!("unknown trigger {t}")),
                    }
                }
                spec = spec.can_handle(Arc::new(move |ctx: &FallbackContext| {
                    handles.contains(&ctx.trigger)
                }));
            }
            let replaced = m.register(spec);
            check_value(out, expect, "changed", Value::from(replaced));
        }
        "unregister" => {
            let r = m.unregister(str_arg(step, "strategy").unwrap_or_default());
            check_value(out, expect, "changed", Value::from(r));
        }
        "set_available" => {
            let on = step
                .get("available")
                .and_then(Value::as_bool)
                .unwrap_or(true);
            let r = m.set_available(str_arg(step, "strategy").unwrap_or_default(), on);
            check_value(out, expect, "changed", Value::from(r));
        }
        "trigger" => match trigger_of(step).and_then(|t| Ok((t, level_of(step, t)?))) {
            Ok((t, l)) => {
                let r = m.trigger(target, t, l);
                check_value(out, expect, "changed", Value::from(r));
            }
            Err(e) => out.fail(e),
        },
        "fallback" | "choose" => match context_of(step) {
            Ok(ctx) => {
                let c = if op == "fallback" {
                    m.select(&ctx)
                } else {
                    m.choose(&ctx)
                };
                choice_fields(out, expect, c.as_ref());
            }
            Err(e) => out.fail(e),
        },
        "clear" => match trigger_of(step) {
            Ok(t) => {
                let r = m.trigger_cleared(target, t);
                check_value(out, expect, "recovered", Value::from(r));
            }
            Err(e) => out.fail(e),
        },
        "success" => {
            let r = m.report_success(target);
            check_value(out, expect, "recovered", Value::from(r));
        }
        "breaker_state" => match str_arg(step, "state").unwrap_or_default().parse() {
            Ok(state) => {
                let r = m.on_breaker_state(target, state);
                check_value(out, expect, "changed", Value::from(r));
            }
            Err(()) => out.fail(format!("unknown breaker state {:?}", step.get("state"))),
        },
        "health_status" => {
            let r = m.on_health_status(target, str_arg(step, "status").unwrap_or_default());
            check_value(out, expect, "changed", Value::from(r));
        }
        "force_recovery" => {
            let r = m.force_recovery(target);
            check_value(out, expect, "recovered", Value::from(r));
        }
        "force_recovery_all" => {
            let n = m.force_recovery_all();
            check_value(out, expect, "recovered", Value::from(n));
        }
        "configure" => {
            let cfg = step
                .get("config")
                .cloned()
                .unwrap_or(Value::Object(Map::new()));
            let r =
                DegradationConfig::from_json_over(&m.config(), &cfg).and_then(|c| m.configure(c));
            match (r, expect.get("error")) {
                (Ok(()), Some(w)) => out.fail(format!("configure accepted, expected {w}")),
                (Err(e), None) => out.fail(format!("configure rejected: {e}")),
                (Err(e), Some(w)) => {
                    for f in config_error_matches(&e, w) {
                        out.fail(f);
                    }
                }
                (Ok(()), None) => {}
            }
        }
        "advance" => d.clock.advance(Duration::from_millis(
            step.get("ms").and_then(Value::as_u64).unwrap_or(0),
        )),
        "inspect" => {}
        "run" => run_step(d, out, step, expect),
        "force_open" | "force_close" => match &d.breaker {
            None => out.fail(format!("op {op} needs a policy breaker")),
            Some(b) => {
                if op == "force_open" {
                    b.force_open();
                } else {
                    b.force_close();
                }
            }
        },
        other => out.fail(format!("unknown op {other:?}")),
    }
}

fn run_degradation(doc: &Map<String, Value>) -> Vec<String> {
    let config = doc
        .get("config")
        .cloned()
        .unwrap_or(Value::Object(Map::new()));
    let clock = Arc::new(ManualClock::new());
    let built = build_degradation(&config, &clock);
    if let Some(want) = doc.get("config_error") {
        return match built {
            Ok(_) => vec![format!("config accepted, expected error {want}")],
            Err(e) => config_error_matches(&e, want),
        };
    }
    let mut d = match built {
        Ok(d) => d,
        Err(e) => return vec![format!("config rejected: {e}")],
    };
    let mut out = Out {
        failures: Vec::new(),
        step: 0,
    };
    for (i, step) in steps(doc).iter().enumerate() {
        out.step = i;
        let Some((op, step, expect)) =
            prepare(&mut out, step, DEGRADATION_OPS, DEGRADATION_EXPECT, &clock)
        else {
            continue;
        };
        d.events.lock().unwrap().clear();
        degradation_step(&mut d, &mut out, &op, &step, &expect);
        let events = std::mem::take(&mut *d.events.lock().unwrap());
        if let Some(want) = expect.get("events") {
            check_events(&mut out, want, &events);
        }
        degradation_expect(&d, &mut out, &step, &expect);
    }
    out.failures
}

// ---------------------------------------------------------------------------------------------
// Cache

const CACHE_OPS: &[(&str, &[&str])] = &[
    ("put", &["key", "value", "ttl_ms"]),
    ("get", &["key"]),
    ("on_error", &["key"]),
    ("status", &["key"]),
    ("remove", &["key"]),
    ("clear", &[]),
    ("purge_expired", &[]),
    ("configure", &["config"]),
    ("advance", &["ms"]),
    ("inspect", &[]),
];

const CACHE_EXPECT: &[&str] = &[
    "hit", "value", "replaced", "evicted", "removed", "keys", "size", "stats", "error",
];

fn cache_step(
    cache: &ResponseCache<Value>,
    clock: &ManualClock,
    out: &mut Out,
    op: &str,
    step: &Map<String, Value>,
    expect: &Map<String, Value>,
) {
    let key = str_arg(step, "key").unwrap_or_default();
    let hit = |h: Option<Freshness>| Value::from(h.map_or("miss", |f| f.as_str()));
    match op {
        "put" => {
            let value = step.get("value").cloned().unwrap_or(Value::Null);
            let r = match step.get("ttl_ms").and_then(Value::as_u64) {
                Some(t) => cache.put_with_ttl(key.to_string(), value, Duration::from_millis(t)),
                None => cache.put(key.to_string(), value),
            };
            check_value(out, expect, "replaced", r.replaced.unwrap_or(Value::Null));
            check_value(
                out,
                expect,
                "evicted",
                r.evicted.map_or(Value::Null, |(k, _)| Value::from(k)),
            );
        }
        "get" => {
            let v = cache.get(key);
            check_value(
                out,
                expect,
                "hit",
                hit(v.as_ref().map(|_| Freshness::Fresh)),
            );
            check_value(out, expect, "value", v.unwrap_or(Value::Null));
        }
        "on_error" => {
            let h = cache.on_error(key);
            check_value(out, expect, "hit", hit(h.as_ref().map(|h| h.freshness)));
            check_value(out, expect, "value", h.map_or(Value::Null, |h| h.value));
        }
        "status" => check_value(out, expect, "hit", hit(cache.status(key))),
        "remove" => {
            let v = cache.remove(key);
            check_value(out, expect, "value", v.unwrap_or(Value::Null));
        }
        "clear" | "purge_expired" => {
            let removed = if op == "clear" {
                cache.clear()
            } else {
                cache.purge_expired()
            };
            let keys: Vec<Value> = removed.into_iter().map(|(k, _)| Value::from(k)).collect();
            check_value(out, expect, "removed", Value::from(keys));
        }
        "configure" => {
            let cfg = step
                .get("config")
                .cloned()
                .unwrap_or(Value::Object(Map::new()));
            let r =
                CacheConfig::from_json_over(&cache.config(), &cfg).and_then(|c| cache.configure(c));
            match (r, expect.get("error")) {
                (Ok(_), Some(w)) => out.fail(format!("configure accepted, expected {w}")),
                (Err(e), None) => out.fail(format!("configure rejected: {e}")),
                (Err(e), Some(w)) => {
                    for f in config_error_matches(&e, w) {
                        out.fail(f);
                    }
                }
                (Ok(evicted), None) => {
                    let keys: Vec<Value> =
                        evicted.into_iter().map(|(k, _)| Value::from(k)).collect();
                    check_value(out, expect, "removed", Value::from(keys));
                }
            }
        }
        "advance" => clock.advance(Duration::from_millis(
            step.get("ms").and_then(Value::as_u64).unwrap_or(0),
        )),
        "inspect" => {}
        other => out.fail(format!("unknown op {other:?}")),
    }
    if expect.contains_key("keys") {
        let keys: Vec<Value> = cache.keys().into_iter().map(Value::from).collect();
        check_value(out, expect, "keys", Value::from(keys));
    }
    check_value(out, expect, "size", Value::from(cache.len()));
    if let Some(want) = expect.get("stats") {
        let s = cache.stats();
        let mut g = Map::new();
        g.insert("entries".into(), Value::from(s.entries));
        g.insert("hits".into(), Value::from(s.hits));
        g.insert("stale_hits".into(), Value::from(s.stale_hits));
        g.insert("misses".into(), Value::from(s.misses));
        g.insert("evictions".into(), Value::from(s.evictions));
        check_subset(out, "stats", &g, want);
    }
}

fn run_cache(doc: &Map<String, Value>) -> Vec<String> {
    let config = doc
        .get("config")
        .cloned()
        .unwrap_or(Value::Object(Map::new()));
    let clock = Arc::new(ManualClock::new());
    let built = CacheConfig::from_json(&config)
        .and_then(|c| ResponseCache::<Value>::new(c, ClockRef::Manual(clock.clone())));
    if let Some(want) = doc.get("config_error") {
        return match built {
            Ok(_) => vec![format!("config accepted, expected error {want}")],
            Err(e) => config_error_matches(&e, want),
        };
    }
    let cache = match built {
        Ok(c) => c,
        Err(e) => return vec![format!("config rejected: {e}")],
    };
    let mut out = Out {
        failures: Vec::new(),
        step: 0,
    };
    for (i, step) in steps(doc).iter().enumerate() {
        out.step = i;
        let Some((op, step, expect)) = prepare(&mut out, step, CACHE_OPS, CACHE_EXPECT, &clock)
        else {
            continue;
        };
        cache_step(&cache, &clock, &mut out, &op, &step, &expect);
    }
    out.failures
}

// ---------------------------------------------------------------------------------------------
// Files

fn steps(doc: &Map<String, Value>) -> Vec<Value> {
    doc.get("steps")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

type Prepared = (String, Map<String, Value>, Map<String, Value>);

/// Checks a step's op and keys, applies `at`, and splits out `expect`.
fn prepare(
    out: &mut Out,
    step: &Value,
    ops: &[(&str, &[&str])],
    expect_keys: &[&str],
    clock: &ManualClock,
) -> Option<Prepared> {
    let Some(step) = step.as_object() else {
        out.fail("step is not an object");
        return None;
    };
    let op = str_arg(step, "op").unwrap_or_default().to_string();
    let Some((_, args)) = ops.iter().find(|(o, _)| *o == op) else {
        out.fail(format!("unknown op {op:?}"));
        return None;
    };
    let mut allowed = vec!["op", "at", "comment", "expect"];
    allowed.extend_from_slice(args);
    if let Err(e) = check_keys(step, &allowed, &format!("{op} step")) {
        out.fail(e);
    }
    let expect = step
        .get("expect")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    if let Err(e) = check_keys(&expect, expect_keys, "expect") {
        out.fail(e);
    }
    if let Some(at) = step.get("at").and_then(Value::as_u64)
        && !clock.set(Duration::from_millis(at))
    {
        out.fail(format!("`at` {at} moves the clock backwards"));
    }
    Some((op, step.clone(), expect))
}

const TOP_KEYS: &[&str] = &[
    "$schema",
    "name",
    "description",
    "rules",
    "component",
    "config",
    "config_error",
    "steps",
];

/// The scenario's component and its failures; `None` for other components' files.
fn run_file(path: &Path) -> Option<(&'static str, Vec<String>)> {
    let text = std::fs::read_to_string(path).ok()?;
    let doc: Value = serde_json::from_str(&text).ok()?;
    let doc = doc.as_object()?;
    let component = doc.get("component").and_then(Value::as_str)?;
    let component = *COMPONENTS.iter().find(|c| **c == component)?;
    if let Err(e) = check_keys(doc, TOP_KEYS, "scenario") {
        return Some((component, vec![e]));
    }
    if doc
        .get("rules")
        .and_then(Value::as_array)
        .is_none_or(|r| r.is_empty())
    {
        return Some((component, vec!["cites no rule".into()]));
    }
    let failures = match component {
        "degradation" => run_degradation(doc),
        _ => run_cache(doc),
    };
    Some((component, failures))
}

#[test]
fn every_degradation_and_cache_scenario_passes() {
    let mut report = Vec::new();
    let mut ran = [0usize; 2];
    for f in scenario_files() {
        let Some((component, failures)) = run_file(&f) else {
            continue;
        };
        ran[(component == "cache") as usize] += 1;
        if !failures.is_empty() {
            let name = f
                .strip_prefix(repo_root())
                .unwrap_or(&f)
                .display()
                .to_string();
            report.push(format!("{name}:\n    {}", failures.join("\n    ")));
        }
    }
    assert!(ran[0] > 0, "no degradation scenarios found");
    assert!(ran[1] > 0, "no cache scenarios found");
    assert!(
        report.is_empty(),
        "{} of {} scenarios failed:\n{}",
        report.len(),
        ran[0] + ran[1],
        report.join("\n")
    );
}
