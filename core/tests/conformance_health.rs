//! Runs the conformance scenarios whose component is `health`, `slo` or `alerts` (the event log
//! and alert rules), on a ManualClock. The format is in `conformance/README.md` ("Health, SLOs
//! and alerts"); `conformance.rs` runs the other components.

#![cfg(not(loom))]

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use breakwater_core::breaker::{BreakerConfig, CircuitBreaker, Outcome, State};
use breakwater_core::event::EventBus;
use breakwater_core::eventlog::{AlertManager, AlertsConfig, EventLog, EventQuery};
use breakwater_core::health::{
    CheckResult, HealthCheckConfig, HealthRegistry, HealthReport, HealthSettings, HealthStatus,
};
use breakwater_core::slo::{Slo, SloConfig};
use breakwater_core::{Category, ClockRef, ConfigErrors, Event, EventKind, ManualClock};
use serde_json::{Map, Value, json};

mod support;
use support::{repo_root, scenario_files};

const COMPONENTS: &[&str] = &["health", "slo", "alerts"];
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

/// Ops and the keys each takes (besides `op`, `at`, `expect`, `comment`).
const HEALTH_OPS: &[(&str, &[&str])] = &[
    ("register", &["check", "config"]),
    ("unregister", &["check"]),
    ("dependency", &["check", "critical", "breaker"]),
    (
        "breaker",
        &["check", "outcome", "category", "repeat", "action"],
    ),
    ("degrade", &["check", "degraded"]),
    (
        "report",
        &["check", "status", "message", "latency_ms", "repeat"],
    ),
    ("advance", &["ms"]),
    ("evaluate", &[]),
    ("snapshot", &[]),
];
const HEALTH_EXPECT: &[&str] = &[
    "status",
    "liveness",
    "readiness",
    "startup",
    "ready",
    "live",
    "started",
    "checks",
    "history",
    "events",
    "error",
];
const SLO_OPS: &[(&str, &[&str])] = &[
    ("record", &["good", "bad"]),
    ("event", &["kind"]),
    ("advance", &["ms"]),
    ("status", &[]),
];
const SLO_EXPECT: &[&str] = &["status", "counted"];
const ALERT_OPS: &[(&str, &[&str])] = &[
    ("event", &["event", "repeat"]),
    ("register", &["check", "config"]),
    ("report", &["check", "status", "latency_ms", "repeat"]),
    ("slo", &["component", "good", "bad"]),
    ("advance", &["ms"]),
    ("log", &["component", "kinds", "limit"]),
    ("snapshot", &[]),
];
const ALERT_EXPECT: &[&str] = &["events", "active", "history", "stats", "entries"];
const CHECK_FIELDS: &[&str] = &[
    "status",
    "failing",
    "stale",
    "consecutive_failures",
    "kind",
    "critical",
    "breaker_state",
    "degraded",
];
const SLO_FIELDS: &[&str] = &[
    "total",
    "good",
    "bad",
    "availability",
    "allowed_failures",
    "error_budget_consumed",
    "error_budget_remaining",
    "burn_rate",
    "recommendation",
];
const ALERT_FIELDS: &[&str] = &[
    "rule",
    "condition",
    "component",
    "severity",
    "suppressed",
    "active",
];

type Failures = Vec<String>;

struct Runner {
    clock: Arc<ManualClock>,
    failures: Failures,
    step: usize,
}

impl Runner {
    fn fail(&mut self, msg: String) {
        self.failures.push(format!("step {}: {msg}", self.step));
    }

    fn expect_eq(&mut self, what: &str, got: &Value, want: &Value) {
        if !values_match(got, want) {
            self.fail(format!("{what}: got {got}, want {want}"));
        }
    }
}

fn values_match(got: &Value, want: &Value) -> bool {
    match (got, want) {
        (Value::Number(a), Value::Number(b)) => {
            (a.as_f64().unwrap() - b.as_f64().unwrap()).abs() <= 1e-9
        }
        (Value::Array(a), Value::Array(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| values_match(x, y))
        }
        (Value::Object(a), Value::Object(b)) => b
            .iter()
            .all(|(k, v)| values_match(a.get(k).unwrap_or(&Value::Null), v)),
        _ => got == want,
    }
}

fn check_keys(obj: &Map<String, Value>, allowed: &[&str], what: &str) -> Result<(), String> {
    match obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(format!("unknown {what} key {k:?}")),
        None => Ok(()),
    }
}

/// The fields a scenario can compare, for one event.
fn event_json(e: &Event) -> Value {
    json!({
        "kind": e.kind.as_str(),
        "component": &*e.component,
        "at": e.at_ms,
        "from": e.from.map(State::as_str),
        "to": e.to.map(State::as_str),
        "reason": e.reason,
        "severity": e.severity,
        "attempt": e.attempt,
        "category": e.category.map(Category::as_str),
    })
}

const EVENT_FIELDS: &[&str] = &[
    "kind",
    "component",
    "at",
    "from",
    "to",
    "reason",
    "severity",
    "attempt",
    "category",
];

fn check_events(r: &mut Runner, got: &[Event], want: &Value) {
    let Some(want) = want.as_array() else {
        return r.fail("events must be a list".into());
    };
    for w in want {
        if let Some(o) = w.as_object()
            && let Err(e) = check_keys(o, EVENT_FIELDS, "event")
        {
            r.fail(e);
        }
    }
    let got: Vec<Value> = got.iter().map(event_json).collect();
    if got.len() != want.len() || !got.iter().zip(want).all(|(g, w)| values_match(g, w)) {
        r.fail(format!(
            "events: got {}, want {}",
            Value::Array(got),
            Value::Array(want.clone())
        ));
    }
}

fn str_arg<'a>(step: &'a Map<String, Value>, key: &str) -> Result<&'a str, String> {
    step.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("`{key}` must be a string"))
}

fn u64_arg(step: &Map<String, Value>, key: &str, default: u64) -> Result<u64, String> {
    match step.get(key) {
        None => Ok(default),
        Some(v) => v
            .as_u64()
            .ok_or_else(|| format!("`{key}` must be a non-negative integer")),
    }
}

fn error_json(e: &ConfigErrors) -> Value {
    json!({"code": "CONFIG_INVALID", "key": e.first().key})
}

/// Checks an operation's error against `expect.error` (absent: it must have succeeded).
fn check_error(r: &mut Runner, got: Option<Value>, expect: &Map<String, Value>) {
    match (got, expect.get("error")) {
        (None, None) => {}
        (Some(g), Some(w)) => r.expect_eq("error", &g, w),
        (Some(g), None) => r.fail(format!("unexpected error {g}")),
        (None, Some(w)) => r.fail(format!("no error, want {w}")),
    }
}

fn step_prelude(
    r: &mut Runner,
    step: &Map<String, Value>,
    ops: &[(&str, &[&str])],
    expect_keys: &[&str],
) -> Result<String, String> {
    let op = str_arg(step, "op")?.to_string();
    let Some((_, args)) = ops.iter().find(|(o, _)| *o == op) else {
        return Err(format!("unknown op {op:?}"));
    };
    let mut allowed: Vec<&str> = vec!["op", "at", "expect", "comment"];
    allowed.extend_from_slice(args);
    check_keys(step, &allowed, "step")?;
    if let Some(e) = step.get("expect") {
        let e = e.as_object().ok_or("`expect` must be an object")?;
        check_keys(e, expect_keys, "expect")?;
    }
    if let Some(at) = step.get("at") {
        let at = at.as_u64().ok_or("`at` must be ms")?;
        if !r.clock.set(Duration::from_millis(at)) {
            return Err("`at` goes backwards".into());
        }
    }
    if op == "advance" {
        r.clock
            .advance(Duration::from_millis(u64_arg(step, "ms", 0)?));
    }
    Ok(op)
}

// ---------------------------------------------------------------------------------------------
// health

struct Health {
    reg: Arc<HealthRegistry>,
    settings: HealthSettings,
    breakers: HashMap<String, Arc<CircuitBreaker>>,
    degraded: Arc<Mutex<HashSet<String>>>,
    events: Arc<Mutex<Vec<Event>>>,
}

fn check_json(report: &HealthReport, name: &str) -> Value {
    let Some(c) = report.check(name) else {
        return Value::Null;
    };
    json!({
        "status": c.status.as_str(),
        "failing": c.failing,
        "stale": c.stale,
        "consecutive_failures": c.consecutive_failures,
        "kind": c.kind.as_str(),
        "critical": c.critical,
        "breaker_state": c.dependency.and_then(|d| d.breaker_state).map(State::as_str),
        "degraded": c.dependency.is_some_and(|d| d.degraded),
    })
}

fn health_expect(r: &mut Runner, h: &Health, expect: &Map<String, Value>, events: &[Event]) {
    let report = h.reg.snapshot();
    let scalars = [
        ("status", json!(report.status.as_str())),
        ("liveness", json!(report.liveness.as_str())),
        ("readiness", json!(report.readiness.as_str())),
        ("startup", json!(report.startup.as_str())),
        ("ready", json!(report.ready)),
        ("live", json!(report.live)),
        ("started", json!(report.started)),
    ];
    for (k, got) in scalars {
        if let Some(w) = expect.get(k) {
            r.expect_eq(k, &got, w);
        }
    }
    if let Some(w) = expect.get("checks") {
        let Some(w) = w.as_object() else {
            return r.fail("checks must be an object".into());
        };
        for (name, want) in w {
            if let Some(o) = want.as_object()
                && let Err(e) = check_keys(o, CHECK_FIELDS, "check")
            {
                r.fail(e);
            }
            let got = check_json(&report, name);
            r.expect_eq(&format!("checks.{name}"), &got, want);
        }
    }
    if let Some(w) = expect.get("history") {
        let Some(w) = w.as_object() else {
            return r.fail("history must be an object".into());
        };
        for (name, want) in w {
            let got: Vec<&str> = h
                .reg
                .history(name, usize::MAX)
                .iter()
                .map(|x| x.result.status.as_str())
                .collect();
            r.expect_eq(&format!("history.{name}"), &json!(got), want);
        }
    }
    if let Some(w) = expect.get("events") {
        check_events(r, events, w);
    }
}

fn health_step(
    r: &mut Runner,
    h: &mut Health,
    op: &str,
    step: &Map<String, Value>,
) -> Result<Option<Value>, String> {
    match op {
        "register" => {
            let name = str_arg(step, "check")?;
            let base = h.settings.config_for(name);
            let cfg = match step.get("config") {
                Some(v) => HealthCheckConfig::from_json_over(&base, v),
                None => Ok(base),
            };
            if let Err(e) = cfg.and_then(|c| h.reg.register(name, c)) {
                return Ok(Some(error_json(&e)));
            }
        }
        "unregister" => {
            h.reg.unregister(str_arg(step, "check")?);
        }
        "dependency" => {
            let name = str_arg(step, "check")?;
            let critical = match step.get("critical") {
                None => true,
                Some(v) => v.as_bool().ok_or("`critical` must be a boolean")?,
            };
            match step.get("breaker") {
                Some(cfg) => {
                    let cfg = match BreakerConfig::from_json(cfg) {
                        Ok(c) => c,
                        Err(e) => return Ok(Some(error_json(&e))),
                    };
                    let clock = ClockRef::Manual(r.clock.clone());
                    let b =
                        Arc::new(CircuitBreaker::new(name, cfg, clock).map_err(|e| e.to_string())?);
                    h.reg.add_breaker_dependency(&b, critical);
                    h.breakers.insert(name.to_string(), b);
                }
                None => h.reg.add_dependency(name, critical, None),
            }
        }
        "breaker" => {
            let name = str_arg(step, "check")?;
            let b = h
                .breakers
                .get(name)
                .ok_or_else(|| format!("no breaker for {name:?}"))?
                .clone();
            if let Some(action) = step.get("action") {
                match action.as_str() {
                    Some("force_open") => drop(b.force_open()),
                    Some("force_close") => drop(b.force_close()),
                    Some("reset") => drop(b.reset()),
                    Some("acquire") => drop(b.try_acquire()),
                    other => return Err(format!("unknown breaker action {other:?}")),
                }
            } else {
                let outcome = match str_arg(step, "outcome")? {
                    "success" => Outcome::Success,
                    "failure" => {
                        let c = step.get("category").and_then(Value::as_str);
                        let c = match c {
                            None => Category::Server,
                            Some(c) => Category::from_str(c).map_err(|_| "bad category")?,
                        };
                        Outcome::Failure(c)
                    }
                    other => return Err(format!("unknown outcome {other:?}")),
                };
                for _ in 0..u64_arg(step, "repeat", 1)? {
                    if let Ok(p) = b.try_acquire() {
                        b.record(p, outcome);
                    }
                }
            }
        }
        "degrade" => {
            let name = str_arg(step, "check")?.to_string();
            let on = step
                .get("degraded")
                .and_then(Value::as_bool)
                .ok_or("`degraded` must be a boolean")?;
            let mut set = h.degraded.lock().unwrap();
            if on {
                set.insert(name);
            } else {
                set.remove(&name);
            }
        }
        "report" => {
            let name = str_arg(step, "check")?;
            let status = HealthStatus::from_str(str_arg(step, "status")?)
                .map_err(|()| "unknown status".to_string())?;
            let mut result = CheckResult::new(status).with_latency(Duration::from_millis(u64_arg(
                step,
                "latency_ms",
                0,
            )?));
            if let Some(m) = step.get("message").and_then(Value::as_str) {
                result = result.with_message(m);
            }
            for _ in 0..u64_arg(step, "repeat", 1)? {
                if let Err(e) = h.reg.report(name, result.clone()) {
                    return Ok(Some(json!({"code": e.code().as_str()})));
                }
            }
        }
        "evaluate" => {
            h.reg.evaluate();
        }
        "advance" | "snapshot" => {}
        other => return Err(format!("unhandled op {other:?}")),
    }
    Ok(None)
}

fn run_health(doc: &Map<String, Value>, clock: Arc<ManualClock>) -> Failures {
    let config = doc.get("config").cloned().unwrap_or(json!({}));
    let mut r = Runner {
        clock,
        failures: Vec::new(),
        step: 0,
    };
    let settings = HealthSettings::from_json(&config);
    if let Some(want) = doc.get("config_error") {
        match settings {
            Ok(_) => r.fail(format!("config accepted, want {want}")),
            Err(e) => r.expect_eq("config_error", &error_json(&e), want),
        }
        return r.failures;
    }
    let settings = match settings {
        Ok(s) => s,
        Err(e) => return vec![format!("config rejected: {e}")],
    };
    let reg = Arc::new(HealthRegistry::with_settings(
        "health",
        settings.clone(),
        ClockRef::Manual(r.clock.clone()),
    ));
    let degraded: Arc<Mutex<HashSet<String>>> = Arc::default();
    let d = degraded.clone();
    reg.set_degraded_probe(Some(Arc::new(move |name: &str| {
        d.lock().unwrap().contains(name)
    })));
    let events: Arc<Mutex<Vec<Event>>> = Arc::default();
    let ev = events.clone();
    reg.subscribe(
        None,
        Arc::new(move |e: &Event| ev.lock().unwrap().push(e.clone())),
    );
    let mut h = Health {
        reg,
        settings,
        breakers: HashMap::new(),
        degraded,
        events,
    };
    let steps = doc.get("steps").and_then(Value::as_array).cloned();
    for (i, step) in steps.into_iter().flatten().enumerate() {
        r.step = i;
        let Some(step) = step.as_object() else {
            r.fail("a step must be an object".into());
            continue;
        };
        let op = match step_prelude(&mut r, step, HEALTH_OPS, HEALTH_EXPECT) {
            Ok(op) => op,
            Err(e) => {
                r.fail(e);
                continue;
            }
        };
        let empty = Map::new();
        let expect = step
            .get("expect")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        match health_step(&mut r, &mut h, &op, step) {
            Ok(err) => check_error(&mut r, err, expect),
            Err(e) => r.fail(e),
        }
        let events = std::mem::take(&mut *h.events.lock().unwrap());
        health_expect(&mut r, &h, expect, &events);
    }
    r.failures
}

// ---------------------------------------------------------------------------------------------
// slo

fn slo_json(s: &Slo) -> Value {
    let st = s.status();
    json!({
        "total": st.total,
        "good": st.good,
        "bad": st.bad,
        "availability": st.availability,
        "allowed_failures": st.allowed_failures,
        "error_budget_consumed": st.error_budget_consumed,
        "error_budget_remaining": st.error_budget_remaining,
        "burn_rate": st.burn_rate,
        "recommendation": st.recommendation.as_str(),
    })
}

fn run_slo(doc: &Map<String, Value>, clock: Arc<ManualClock>) -> Failures {
    let config = doc.get("config").cloned().unwrap_or(json!({}));
    let mut r = Runner {
        clock,
        failures: Vec::new(),
        step: 0,
    };
    let cfg = SloConfig::from_json(&config);
    if let Some(want) = doc.get("config_error") {
        match cfg {
            Ok(_) => r.fail(format!("config accepted, want {want}")),
            Err(e) => r.expect_eq("config_error", &error_json(&e), want),
        }
        return r.failures;
    }
    let slo = match cfg.and_then(|c| Slo::new("test", c, ClockRef::Manual(r.clock.clone()))) {
        Ok(s) => s,
        Err(e) => return vec![format!("config rejected: {e}")],
    };
    let steps = doc.get("steps").and_then(Value::as_array).cloned();
    for (i, step) in steps.into_iter().flatten().enumerate() {
        r.step = i;
        let Some(step) = step.as_object() else {
            r.fail("a step must be an object".into());
            continue;
        };
        let op = match step_prelude(&mut r, step, SLO_OPS, SLO_EXPECT) {
            Ok(op) => op,
            Err(e) => {
                r.fail(e);
                continue;
            }
        };
        let empty = Map::new();
        let expect = step
            .get("expect")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let mut counted = None;
        let res: Result<(), String> = (|| {
            match op.as_str() {
                "record" => slo.record_counts(u64_arg(step, "good", 0)?, u64_arg(step, "bad", 0)?),
                "event" => {
                    let kind =
                        EventKind::parse(str_arg(step, "kind")?).ok_or("unknown event kind")?;
                    counted = Some(slo.observe(&Event::new(kind, &Arc::from("test"), 0)));
                }
                _ => {}
            }
            Ok(())
        })();
        if let Err(e) = res {
            r.fail(e);
        }
        if let Some(w) = expect.get("counted") {
            r.expect_eq("counted", &json!(counted), w);
        }
        if let Some(w) = expect.get("status") {
            if let Some(o) = w.as_object()
                && let Err(e) = check_keys(o, SLO_FIELDS, "status")
            {
                r.fail(e);
            }
            r.expect_eq("status", &slo_json(&slo), w);
        }
    }
    r.failures
}

// ---------------------------------------------------------------------------------------------
// alerts and the event log

fn leak(s: &str) -> &'static str {
    Box::leak(s.to_string().into_boxed_str())
}

fn parse_event(v: &Value) -> Result<Event, String> {
    let o = v.as_object().ok_or("`event` must be an object")?;
    check_keys(
        o,
        &["kind", "component", "from", "to", "reason", "severity"],
        "event",
    )?;
    let kind = EventKind::parse(str_arg(o, "kind")?).ok_or("unknown event kind")?;
    let component: Arc<str> = Arc::from(str_arg(o, "component")?);
    let mut e = Event::new(kind, &component, 0);
    let state = |k: &str| -> Result<Option<State>, String> {
        o.get(k)
            .map(|s| {
                s.as_str()
                    .and_then(|s| State::from_str(s).ok())
                    .ok_or_else(|| format!("bad state in `{k}`"))
            })
            .transpose()
    };
    e.from = state("from")?;
    e.to = state("to")?;
    e.reason = o.get("reason").and_then(Value::as_str).map(leak);
    e.severity = o.get("severity").and_then(Value::as_str).map(leak);
    Ok(e)
}

fn alert_json(a: &breakwater_core::eventlog::Alert) -> Value {
    json!({
        "rule": &*a.rule,
        "condition": a.condition,
        "component": &*a.component,
        "severity": a.severity.as_str(),
        "suppressed": a.suppressed,
        "active": a.is_active(),
    })
}

fn check_alert_list(r: &mut Runner, what: &str, got: Vec<Value>, want: &Value) {
    if let Some(list) = want.as_array() {
        for w in list {
            if let Some(o) = w.as_object()
                && let Err(e) = check_keys(o, ALERT_FIELDS, "alert")
            {
                r.fail(e);
            }
        }
    }
    r.expect_eq(what, &Value::Array(got), want);
}

fn run_alerts(doc: &Map<String, Value>, clock: Arc<ManualClock>) -> Failures {
    let mut config = doc
        .get("config")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut r = Runner {
        clock,
        failures: Vec::new(),
        step: 0,
    };
    let cref = ClockRef::Manual(r.clock.clone());
    let log_capacity = config.remove("log_capacity");
    let health_cfg = config.remove("health");
    let slo_cfg = config.remove("slo");
    let built: Result<_, ConfigErrors> = (|| {
        let alerts = AlertsConfig::from_json(&Value::Object(config))?;
        let log = match &log_capacity {
            None => EventLog::new(breakwater_core::eventlog::DEFAULT_LOG_CAPACITY)?,
            Some(v) => EventLog::new(v.as_u64().unwrap_or(0) as usize).map_err(|mut e| {
                e.0[0].key = "log_capacity".into();
                e
            })?,
        };
        let health = match &health_cfg {
            None => HealthSettings::default(),
            Some(v) => HealthSettings::from_json(v)?,
        };
        let slo = match &slo_cfg {
            None => SloConfig::default(),
            Some(v) => SloConfig::from_json(v)?,
        };
        Ok((alerts, log, health, slo))
    })();
    if let Some(want) = doc.get("config_error") {
        match built {
            Ok(_) => r.fail(format!("config accepted, want {want}")),
            Err(e) => r.expect_eq("config_error", &error_json(&e), want),
        }
        return r.failures;
    }
    let (alerts_cfg, log, health_settings, slo_cfg) = match built {
        Ok(b) => b,
        Err(e) => return vec![format!("config rejected: {e}")],
    };
    let alerts = Arc::new(AlertManager::with_config(alerts_cfg, cref.clone()).unwrap());
    let log = Arc::new(log);
    // The components' events: logged, then seen by the alert manager.
    let bus = EventBus::default();
    log.attach(&bus);
    bus.subscribe(None, alerts.listener());
    alerts.subscribe(None, log.listener());
    let raised: Arc<Mutex<Vec<Event>>> = Arc::default();
    let rs = raised.clone();
    alerts.subscribe(
        None,
        Arc::new(move |e: &Event| rs.lock().unwrap().push(e.clone())),
    );
    let health = HealthRegistry::with_settings("health", health_settings.clone(), cref.clone());
    health.set_alerts(Some(&alerts));
    health.subscribe(None, log.listener());
    let mut slos: HashMap<String, Slo> = HashMap::new();

    let steps = doc.get("steps").and_then(Value::as_array).cloned();
    for (i, step) in steps.into_iter().flatten().enumerate() {
        r.step = i;
        let Some(step) = step.as_object() else {
            r.fail("a step must be an object".into());
            continue;
        };
        let op = match step_prelude(&mut r, step, ALERT_OPS, ALERT_EXPECT) {
            Ok(op) => op,
            Err(e) => {
                r.fail(e);
                continue;
            }
        };
        let empty = Map::new();
        let expect = step
            .get("expect")
            .and_then(Value::as_object)
            .unwrap_or(&empty);
        let mut entries = None;
        let res: Result<(), String> = (|| {
            match op.as_str() {
                "event" => {
                    let mut e = parse_event(step.get("event").ok_or("`event` is required")?)?;
                    for _ in 0..u64_arg(step, "repeat", 1)? {
                        e.at_ms = r.clock_wall();
                        bus.emit(&e);
                    }
                }
                "register" => {
                    let name = str_arg(step, "check")?;
                    let base = health_settings.config_for(name);
                    let cfg = match step.get("config") {
                        Some(v) => HealthCheckConfig::from_json_over(&base, v),
                        None => Ok(base),
                    };
                    cfg.and_then(|c| health.register(name, c))
                        .map_err(|e| e.to_string())?;
                }
                "report" => {
                    let name = str_arg(step, "check")?;
                    let status = HealthStatus::from_str(str_arg(step, "status")?)
                        .map_err(|()| "unknown status".to_string())?;
                    let result = CheckResult::new(status)
                        .with_latency(Duration::from_millis(u64_arg(step, "latency_ms", 0)?));
                    for _ in 0..u64_arg(step, "repeat", 1)? {
                        health
                            .report(name, result.clone())
                            .map_err(|e| e.to_string())?;
                    }
                }
                "slo" => {
                    let name = str_arg(step, "component")?;
                    if !slos.contains_key(name) {
                        let s = Slo::new(name, slo_cfg, cref.clone()).map_err(|e| e.to_string())?;
                        slos.insert(name.to_string(), s);
                    }
                    let s = &slos[name];
                    s.record_counts(u64_arg(step, "good", 0)?, u64_arg(step, "bad", 0)?);
                    alerts.observe_slo(s);
                }
                "log" => {
                    let kinds: Vec<EventKind> = match step.get("kinds") {
                        None => Vec::new(),
                        Some(v) => v
                            .as_array()
                            .ok_or("`kinds` must be a list")?
                            .iter()
                            .map(|k| k.as_str().and_then(EventKind::parse))
                            .collect::<Option<_>>()
                            .ok_or("unknown kind in `kinds`")?,
                    };
                    let limit = step
                        .get("limit")
                        .map(|v| v.as_u64().ok_or("`limit` must be an integer"))
                        .transpose()?;
                    let got = log.query(&EventQuery {
                        component: step.get("component").and_then(Value::as_str),
                        kinds: &kinds,
                        limit: limit.map(|l| l as usize),
                        after_seq: None,
                    });
                    entries = Some(
                        got.iter()
                            .map(|e| {
                                let mut v = event_json(&e.event);
                                v["seq"] = json!(e.seq);
                                v
                            })
                            .collect::<Vec<_>>(),
                    );
                }
                _ => {}
            }
            Ok(())
        })();
        if let Err(e) = res {
            r.fail(e);
        }
        let events = std::mem::take(&mut *raised.lock().unwrap());
        if let Some(w) = expect.get("events") {
            check_events(&mut r, &events, w);
        }
        if let Some(w) = expect.get("active") {
            let got = alerts.active().iter().map(alert_json).collect();
            check_alert_list(&mut r, "active", got, w);
        }
        if let Some(w) = expect.get("history") {
            let got = alerts.history(usize::MAX).iter().map(alert_json).collect();
            check_alert_list(&mut r, "history", got, w);
        }
        if let Some(w) = expect.get("stats") {
            let s = alerts.stats();
            let got = json!({
                "raised_total": s.raised_total,
                "suppressed_total": s.suppressed_total,
            });
            r.expect_eq("stats", &got, w);
        }
        if let Some(w) = expect.get("entries") {
            match (&entries, w.as_array()) {
                (Some(got), Some(want)) => {
                    let ok = got.len() == want.len()
                        && got.iter().zip(want).all(|(g, w)| values_match(g, w));
                    if !ok {
                        r.fail(format!("entries: got {}, want {w}", json!(got)));
                    }
                }
                _ => r.fail("`entries` needs a `log` op and a list".into()),
            }
        }
    }
    r.failures
}

impl Runner {
    fn clock_wall(&self) -> u64 {
        use breakwater_core::Clock;
        self.clock.wall_ms()
    }
}

// ---------------------------------------------------------------------------------------------

fn run_file(path: &Path) -> Option<Failures> {
    let text = std::fs::read_to_string(path).ok()?;
    let doc: Value = serde_json::from_str(&text).ok()?;
    let doc = doc.as_object()?;
    let component = doc.get("component").and_then(Value::as_str)?;
    if !COMPONENTS.contains(&component) {
        return None;
    }
    if let Err(e) = check_keys(doc, TOP_KEYS, "scenario") {
        return Some(vec![e]);
    }
    if doc
        .get("rules")
        .and_then(Value::as_array)
        .is_none_or(|r| r.is_empty())
    {
        return Some(vec!["cites no rule".into()]);
    }
    if doc.contains_key("steps") == doc.contains_key("config_error") {
        return Some(vec!["exactly one of `steps` and `config_error`".into()]);
    }
    let clock = Arc::new(ManualClock::new());
    Some(match component {
        "health" => run_health(doc, clock),
        "slo" => run_slo(doc, clock),
        _ => run_alerts(doc, clock),
    })
}

#[test]
fn health_slo_and_alert_scenarios_pass() {
    let mut report = Vec::new();
    let mut ran: HashMap<String, usize> = HashMap::new();
    for f in scenario_files() {
        let Some(failures) = run_file(&f) else {
            continue;
        };
        let comp = f
            .parent()
            .and_then(Path::file_name)
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        *ran.entry(comp).or_default() += 1;
        if !failures.is_empty() {
            let name = f
                .strip_prefix(repo_root())
                .unwrap_or(&f)
                .display()
                .to_string();
            report.push(format!("{name}:\n    {}", failures.join("\n    ")));
        }
    }
    for c in COMPONENTS {
        assert!(
            ran.get(*c).copied().unwrap_or(0) > 0,
            "no {c} scenarios ran (conformance/scenarios/{c}/)"
        );
    }
    assert!(
        report.is_empty(),
        "{} scenarios failed:\n{}",
        report.len(),
        report.join("\n")
    );
}
