//! Runs the conformance scenarios whose component is `document` (whole config documents, with
//! environment variables on top) or `registry` (named components made from a document, bounded
//! and reloaded), on a ManualClock. The format is in `conformance/README.md` ("Config documents
//! and registries"); `conformance.rs` runs the other components. TOML documents cannot be
//! written in a JSON scenario, so the unit tests at the end compare TOML with JSON twins.

#![cfg(not(loom))]

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use breakwater_core::breaker::{CircuitBreaker, Outcome};
use breakwater_core::config_keys::{
    breaker_values, bulkhead_values, monitor_values, rate_limiter_values, retry_values,
};
use breakwater_core::document::apply_env;
use breakwater_core::{
    Bulkhead, Category, ClockRef, ConfigErrors, Document, ManualClock, RateLimiter, Registry,
    RegistryBounds, RetryPolicy,
};
use serde_json::{Map, Value};

mod support;
use support::{repo_root, scenario_files};

const COMPONENTS: &[&str] = &["document", "registry"];
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

/// Each op with the step keys it takes (besides `op`, `comment`, `expect`) and the expectations
/// it can check.
type OpSpec = (
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
);

const DOCUMENT_OPS: &[OpSpec] = &[
    ("parse", &["document"], &["error"]),
    ("env", &["vars"], &["error"]),
    (
        "breaker_config",
        &["name"],
        &["config", "enabled", "overrides"],
    ),
    (
        "retry_config",
        &["name"],
        &["config", "enabled", "overrides"],
    ),
    (
        "rate_limiter_config",
        &["name"],
        &["config", "enabled", "overrides"],
    ),
    (
        "bulkhead_config",
        &["name"],
        &["config", "enabled", "overrides"],
    ),
    ("monitoring", &[], &["config"]),
    ("section", &["section"], &["value"]),
];

const REGISTRY_OPS: &[OpSpec] = &[
    (
        "get",
        &["at", "name", "kind"],
        &["created", "state", "config", "error"],
    ),
    (
        "call",
        &["at", "name", "outcome", "category", "duration_ms", "repeat"],
        &["permitted", "rejected", "state"],
    ),
    ("force_open", &["at", "name"], &["state"]),
    ("force_close", &["at", "name"], &["state"]),
    ("disable", &["at", "name"], &["state"]),
    ("reset", &["at", "name"], &["state"]),
    ("advance", &["at", "ms"], &[]),
    ("names", &["at"], &["names"]),
    ("reload", &["at", "document"], &["error"]),
    ("state", &["at", "name"], &["state"]),
];

type Failures = Vec<String>;

fn check_keys(obj: &Map<String, Value>, allowed: &[&str], what: &str) -> Result<(), String> {
    match obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(format!("unknown key `{k}` in {what}")),
        None => Ok(()),
    }
}

/// Numbers compare to 1e-9; objects and arrays element by element.
fn same(got: &Value, want: &Value) -> bool {
    match (got, want) {
        (Value::Number(g), Value::Number(w)) => {
            (g.as_f64().unwrap() - w.as_f64().unwrap()).abs() <= 1e-9
        }
        (Value::Array(g), Value::Array(w)) => {
            g.len() == w.len() && g.iter().zip(w).all(|(a, b)| same(a, b))
        }
        (Value::Object(g), Value::Object(w)) => {
            g.len() == w.len() && w.iter().all(|(k, v)| g.get(k).is_some_and(|x| same(x, v)))
        }
        _ => got == want,
    }
}

/// `want` lists a subset of the fields of `got` (canonical file spelling).
fn check_subset(f: &mut Failures, got: &Map<String, Value>, want: &Value, what: &str) {
    let Some(want) = want.as_object() else {
        return f.push(format!("expected {what} must be an object"));
    };
    for (k, w) in want {
        match got.get(k) {
            None => f.push(format!(
                "{what} has no field `{k}` (fields: {:?})",
                got.keys()
            )),
            Some(g) if !same(g, w) => f.push(format!("{what}.{k} = {g}, expected {w}")),
            Some(_) => {}
        }
    }
}

const ERROR_KEYS: &[&str] = &["code", "key", "path", "value", "allowed", "hint", "paths"];

/// Compares config errors with an `error` / `config_error` expectation: `code`, the first
/// error's `key` and `value` (exact), `allowed` (a substring of what the first error allows),
/// `hint` (the name its "did you mean" suggests; null: no suggestion) and `keys` (every error's
/// key, in order).
fn check_error(f: &mut Failures, got: Result<(), &ConfigErrors>, want: Option<&Value>) {
    let e = match (got, want) {
        (Ok(()), None) => return,
        (Ok(()), Some(w)) => return f.push(format!("accepted, expected error {w}")),
        (Err(e), None) => return f.push(format!("rejected: {e}")),
        (Err(e), Some(_)) => e,
    };
    let Some(w) = want.and_then(Value::as_object) else {
        return f.push("an error expectation must be an object".into());
    };
    if let Err(m) = check_keys(w, ERROR_KEYS, "error expectation") {
        f.push(m);
    }
    let first = e.first();
    let text = |k: &str| w.get(k).and_then(Value::as_str);
    if let Some(code) = text("code")
        && code != e.code().as_str()
    {
        f.push(format!("code {} != {code}", e.code()));
    }
    if let Some(key) = text("key")
        && key != first.key
    {
        f.push(format!("first error key {} != {key} (all: {e})", first.key));
    }
    if let Some(path) = text("path")
        && path != first.path
    {
        f.push(format!(
            "first error path {} != {path} (all: {e})",
            first.path
        ));
    }
    if let Some(value) = text("value")
        && value != first.value
    {
        f.push(format!("first error value {:?} != {value:?}", first.value));
    }
    if let Some(allowed) = text("allowed")
        && !first.allowed.contains(allowed)
    {
        f.push(format!(
            "first error allows {:?}, which does not mention {allowed:?}",
            first.allowed
        ));
    }
    match w.get("hint") {
        None => {}
        Some(Value::Null) if first.allowed.contains("did you mean") => {
            f.push(format!("unexpected hint in {:?}", first.allowed));
        }
        Some(Value::String(h))
            if !(first.allowed.contains("did you mean") && first.allowed.contains(h.as_str())) =>
        {
            f.push(format!("no hint {h:?} in {:?}", first.allowed));
        }
        Some(_) => {}
    }
    if let Some(Value::Array(paths)) = w.get("paths") {
        let got: Vec<&str> = e.0.iter().map(|x| x.path.as_str()).collect();
        let want: Vec<&str> = paths.iter().filter_map(Value::as_str).collect();
        if got != want {
            f.push(format!("error paths {got:?} != {want:?}"));
        }
    }
}

// ---- documents --------------------------------------------------------------------------------

struct DocCtx {
    /// The document as written (with any environment variables applied); the last valid one.
    raw: Value,
    doc: Document,
}

fn read_overrides<T>(section: &breakwater_core::document::Section<T>) -> Value {
    Value::from(section.per_name.keys().cloned().collect::<Vec<_>>())
}

fn document_step(
    ctx: &mut DocCtx,
    f: &mut Failures,
    op: &str,
    step: &Map<String, Value>,
    expect: &Map<String, Value>,
) {
    let name = step.get("name").and_then(Value::as_str);
    let want_error = expect.get("error");
    match op {
        "parse" => {
            let value = step.get("document").cloned().unwrap_or(Value::Null);
            match Document::from_value(&value) {
                Ok(d) => {
                    check_error(f, Ok(()), want_error);
                    ctx.raw = value;
                    ctx.doc = d;
                }
                Err(e) => check_error(f, Err(&e), want_error),
            }
        }
        "env" => {
            let Some(vars) = step.get("vars").and_then(Value::as_object) else {
                return f.push("`env` needs `vars`, an object of strings".into());
            };
            let mut pairs = Vec::new();
            for (k, v) in vars {
                match v.as_str() {
                    Some(s) => pairs.push((k.as_str(), s)),
                    None => return f.push(format!("variable {k} must be a string")),
                }
            }
            let mut raw = ctx.raw.clone();
            let result = apply_env(&mut raw, pairs).and_then(|()| Document::from_value(&raw));
            match result {
                Ok(d) => {
                    check_error(f, Ok(()), want_error);
                    ctx.raw = raw;
                    ctx.doc = d;
                }
                Err(e) => check_error(f, Err(&e), want_error),
            }
        }
        "breaker_config" | "retry_config" | "rate_limiter_config" | "bulkhead_config" => {
            let d = &ctx.doc;
            let (values, enabled, overrides) = match op {
                "breaker_config" => (
                    breaker_values(
                        &name.map_or(d.breakers.defaults.clone(), |n| d.breakers.config_for(n)),
                    ),
                    d.breakers.enabled,
                    read_overrides(&d.breakers),
                ),
                "retry_config" => (
                    retry_values(
                        &name.map_or(d.retries.defaults.clone(), |n| d.retries.config_for(n)),
                    ),
                    d.retries.enabled,
                    read_overrides(&d.retries),
                ),
                "rate_limiter_config" => (
                    rate_limiter_values(
                        &name.map_or(d.rate_limiters.defaults, |n| d.rate_limiters.config_for(n)),
                    ),
                    d.rate_limiters.enabled,
                    read_overrides(&d.rate_limiters),
                ),
                _ => (
                    bulkhead_values(
                        &name.map_or(d.bulkheads.defaults, |n| d.bulkheads.config_for(n)),
                    ),
                    d.bulkheads.enabled,
                    read_overrides(&d.bulkheads),
                ),
            };
            if let Some(w) = expect.get("config") {
                check_subset(f, &values, w, "config");
            }
            if let Some(w) = expect.get("enabled")
                && *w != Value::Bool(enabled)
            {
                f.push(format!("section enabled = {enabled}, expected {w}"));
            }
            if let Some(w) = expect.get("overrides")
                && *w != overrides
            {
                f.push(format!("per-name overrides {overrides}, expected {w}"));
            }
        }
        "monitoring" => {
            if let Some(w) = expect.get("config") {
                check_subset(f, &monitor_values(&ctx.doc.monitoring), w, "monitoring");
            }
        }
        "section" => {
            let d = &ctx.doc;
            let got = match step.get("section").and_then(Value::as_str) {
                Some("degradation_rules") => d.degradation_rules.clone(),
                Some("degradation") => d.degradation.clone(),
                Some("health_checks") => d.health_checks.clone(),
                Some("slo") => d.slo.clone(),
                other => return f.push(format!("unknown section {other:?}")),
            }
            .unwrap_or(Value::Null);
            if let Some(w) = expect.get("value")
                && !same(&got, w)
            {
                f.push(format!("section value {got}, expected {w}"));
            }
        }
        other => f.push(format!("unknown op {other:?}")),
    }
}

fn run_document(scenario: &Map<String, Value>) -> Failures {
    let raw = scenario.get("config").cloned().unwrap_or(Value::Null);
    let parsed = Document::from_value(&raw);
    let mut f = Vec::new();
    if let Some(want) = scenario.get("config_error") {
        check_error(&mut f, parsed.as_ref().map(|_| ()), Some(want));
        return f;
    }
    let doc = match parsed {
        Ok(d) => d,
        Err(e) => return vec![format!("config rejected: {e}")],
    };
    let mut ctx = DocCtx { raw, doc };
    run_steps(scenario, DOCUMENT_OPS, &mut f, |f, op, step, expect| {
        document_step(&mut ctx, f, op, step, expect)
    });
    f
}

// ---- registries -------------------------------------------------------------------------------

#[derive(Clone)]
enum Made {
    Breaker(Arc<CircuitBreaker>),
    Retry(Arc<RetryPolicy>),
    Limiter(Arc<RateLimiter>),
    Bulkhead(Arc<Bulkhead>),
}

impl Made {
    fn same_as(&self, other: &Made) -> bool {
        match (self, other) {
            (Made::Breaker(a), Made::Breaker(b)) => Arc::ptr_eq(a, b),
            (Made::Retry(a), Made::Retry(b)) => Arc::ptr_eq(a, b),
            (Made::Limiter(a), Made::Limiter(b)) => Arc::ptr_eq(a, b),
            (Made::Bulkhead(a), Made::Bulkhead(b)) => Arc::ptr_eq(a, b),
            _ => false,
        }
    }

    fn config(&self) -> Map<String, Value> {
        match self {
            Made::Breaker(b) => breaker_values(&b.config()),
            Made::Retry(r) => retry_values(r.config()),
            Made::Limiter(l) => rate_limiter_values(l.config()),
            Made::Bulkhead(b) => bulkhead_values(b.config()),
        }
    }
}

struct RegCtx {
    clock: Arc<ManualClock>,
    registry: Registry,
    /// The last component each get returned, by kind and name, to tell a new one from the old.
    seen: HashMap<(String, String), Made>,
}

impl RegCtx {
    fn get(&mut self, kind: &str, name: &str) -> Result<(Made, bool), ConfigErrors> {
        let r = &self.registry;
        let made = match kind {
            "breaker" => Made::Breaker(r.breaker(name)?),
            "retry" => Made::Retry(r.retry(name)?),
            "rate_limiter" => Made::Limiter(r.rate_limiter_with(name, Ok)?),
            "bulkhead" => Made::Bulkhead(r.bulkhead_with(name, Ok)?),
            other => panic!("unknown kind {other:?}"),
        };
        let key = (kind.to_string(), name.to_string());
        let created = self.seen.get(&key).is_none_or(|old| !old.same_as(&made));
        self.seen.insert(key, made.clone());
        Ok((made, created))
    }

    fn breaker(&mut self, name: &str) -> Result<Arc<CircuitBreaker>, ConfigErrors> {
        match self.get("breaker", name)?.0 {
            Made::Breaker(b) => Ok(b),
            _ => unreachable!(),
        }
    }
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

fn check_state(f: &mut Failures, b: Option<&CircuitBreaker>, expect: &Map<String, Value>) {
    let Some(want) = expect.get("state") else {
        return;
    };
    let got = b.map_or(Value::Null, |b| Value::from(b.state().as_str()));
    if got != *want {
        f.push(format!("state {got}, expected {want}"));
    }
}

fn registry_step(
    ctx: &mut RegCtx,
    f: &mut Failures,
    op: &str,
    step: &Map<String, Value>,
    expect: &Map<String, Value>,
) {
    let name = step.get("name").and_then(Value::as_str);
    let named = |f: &mut Failures| {
        if name.is_none() {
            f.push(format!("`{op}` needs a `name`"));
        }
        name
    };
    match op {
        "get" => {
            let Some(name) = named(f) else { return };
            let kind = step
                .get("kind")
                .and_then(Value::as_str)
                .unwrap_or("breaker");
            if !["breaker", "retry", "rate_limiter", "bulkhead"].contains(&kind) {
                return f.push(format!("unknown kind {kind:?}"));
            }
            match ctx.get(kind, name) {
                Err(e) => check_error(f, Err(&e), expect.get("error")),
                Ok((made, created)) => {
                    check_error(f, Ok(()), expect.get("error"));
                    if let Some(w) = expect.get("created")
                        && *w != Value::Bool(created)
                    {
                        f.push(format!("created = {created}, expected {w}"));
                    }
                    if let Some(w) = expect.get("config") {
                        check_subset(f, &made.config(), w, "config");
                    }
                    match &made {
                        Made::Breaker(b) => check_state(f, Some(b), expect),
                        _ if expect.contains_key("state") => {
                            f.push("`state` is a breaker's".into())
                        }
                        _ => {}
                    }
                }
            }
        }
        "call" => {
            let Some(name) = named(f) else { return };
            let b = match ctx.breaker(name) {
                Ok(b) => b,
                Err(e) => return f.push(format!("breaker {name}: {e}")),
            };
            let outcome = match outcome_of(step) {
                Ok(o) => o,
                Err(e) => return f.push(e),
            };
            let repeat = step.get("repeat").and_then(Value::as_u64).unwrap_or(1);
            let duration =
                Duration::from_millis(step.get("duration_ms").and_then(Value::as_u64).unwrap_or(0));
            let mut rejection = None;
            for _ in 0..repeat {
                match b.try_acquire() {
                    Ok(p) => {
                        ctx.clock.advance(duration);
                        b.record(p, outcome);
                    }
                    Err(r) => {
                        rejection = Some(r);
                        break;
                    }
                }
            }
            match (rejection, expect.get("rejected")) {
                (None, Some(w)) => f.push(format!("expected rejection {w}, every call ran")),
                (Some(r), None) => f.push(format!("rejected: {r:?}")),
                (Some(r), Some(w)) => {
                    if let Some(code) = w.get("code").and_then(Value::as_str)
                        && code != r.code().as_str()
                    {
                        f.push(format!("rejection code {} != {code}", r.code()));
                    }
                    if let Some(want) = w.get("retry_after_ms") {
                        let got = r
                            .retry_after
                            .map_or(Value::Null, |d| Value::from(d.as_secs_f64() * 1000.0));
                        if !same(&got, want) {
                            f.push(format!("retry_after_ms {got}, expected {want}"));
                        }
                    }
                }
                (None, None) => {}
            }
            check_state(f, Some(&b), expect);
        }
        "force_open" | "force_close" | "disable" | "reset" => {
            let Some(name) = named(f) else { return };
            let b = match ctx.breaker(name) {
                Ok(b) => b,
                Err(e) => return f.push(format!("breaker {name}: {e}")),
            };
            match op {
                "force_open" => drop(b.force_open()),
                "force_close" => drop(b.force_close()),
                "disable" => drop(b.disable()),
                _ => drop(b.reset()),
            }
            check_state(f, Some(&b), expect);
        }
        "advance" => ctx.clock.advance(Duration::from_millis(
            step.get("ms").and_then(Value::as_u64).unwrap_or(0),
        )),
        "names" => {
            if let Some(w) = expect.get("names") {
                let got = Value::from(ctx.registry.breaker_names());
                if got != *w {
                    f.push(format!("names {got}, expected {w}"));
                }
            }
        }
        "reload" => {
            let value = step.get("document").cloned().unwrap_or(Value::Null);
            let result = Document::from_value(&value).and_then(|d| ctx.registry.reload(d));
            check_error(f, result.as_ref().map(|_| ()), expect.get("error"));
        }
        "state" => {
            let Some(name) = named(f) else { return };
            let b = ctx.registry.get_breaker(name);
            check_state(f, b.as_deref(), expect);
        }
        other => f.push(format!("unknown op {other:?}")),
    }
}

fn run_registry(scenario: &Map<String, Value>) -> Failures {
    let empty = Value::Object(Map::new());
    let config = scenario.get("config").unwrap_or(&empty);
    let Some(config) = config.as_object() else {
        return vec!["config must be an object".into()];
    };
    if let Err(e) = check_keys(config, &["document", "bounds"], "registry config") {
        return vec![e];
    }
    let bounds = match config.get("bounds") {
        None => RegistryBounds::default(),
        Some(Value::Object(b)) => {
            if let Err(e) = check_keys(b, &["max_size", "idle_ttl_ms"], "bounds") {
                return vec![e];
            }
            RegistryBounds {
                max_size: b
                    .get("max_size")
                    .and_then(Value::as_u64)
                    .map(|n| usize::try_from(n).unwrap()),
                idle_ttl: b
                    .get("idle_ttl_ms")
                    .and_then(Value::as_u64)
                    .map(Duration::from_millis),
            }
        }
        Some(other) => return vec![format!("bounds must be an object, got {other}")],
    };
    let parsed = Document::from_value(config.get("document").unwrap_or(&empty));
    let mut f = Vec::new();
    if let Some(want) = scenario.get("config_error") {
        check_error(&mut f, parsed.as_ref().map(|_| ()), Some(want));
        return f;
    }
    let doc = match parsed {
        Ok(d) => d,
        Err(e) => return vec![format!("config rejected: {e}")],
    };
    let clock = Arc::new(ManualClock::new());
    let registry = Registry::new(doc, ClockRef::Manual(clock.clone()), bounds, 0);
    let mut ctx = RegCtx {
        clock,
        registry,
        seen: HashMap::new(),
    };
    run_steps(scenario, REGISTRY_OPS, &mut f, |f, op, step, expect| {
        if let Some(at) = step.get("at").and_then(Value::as_u64)
            && !ctx.clock.set(Duration::from_millis(at))
        {
            return f.push(format!("`at` {at} moves the clock backwards"));
        }
        registry_step(&mut ctx, f, op, step, expect)
    });
    f
}

// ---- scenario files ---------------------------------------------------------------------------

/// Checks each step's keys against `ops` and hands it to `run`; failures are prefixed with the
/// step's index.
fn run_steps(
    scenario: &Map<String, Value>,
    ops: &[OpSpec],
    f: &mut Failures,
    mut run: impl FnMut(&mut Failures, &str, &Map<String, Value>, &Map<String, Value>),
) {
    let steps = scenario
        .get("steps")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    if steps.is_empty() {
        f.push("no steps and no config_error".into());
    }
    let empty = Map::new();
    for (i, step) in steps.iter().enumerate() {
        let mut here = Vec::new();
        match step.as_object() {
            None => here.push("a step must be an object".into()),
            Some(step) => {
                let op = step.get("op").and_then(Value::as_str).unwrap_or("");
                match ops.iter().find(|(name, _, _)| *name == op) {
                    None => here.push(format!("unknown op {op:?}")),
                    Some((_, keys, expects)) => {
                        let mut allowed = vec!["op", "comment", "expect"];
                        allowed.extend_from_slice(keys);
                        let expect = step
                            .get("expect")
                            .and_then(Value::as_object)
                            .unwrap_or(&empty);
                        let checked =
                            check_keys(step, &allowed, &format!("`{op}` step")).and_then(|()| {
                                check_keys(expect, expects, &format!("`{op}` expectations"))
                            });
                        match checked {
                            Err(e) => here.push(e),
                            Ok(()) => run(&mut here, op, step, expect),
                        }
                    }
                }
            }
        }
        f.extend(here.into_iter().map(|m| format!("step {i}: {m}")));
    }
}

/// `None` when the file belongs to another runner.
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
        return Some(vec!["exactly one of steps and config_error".into()]);
    }
    Some(match component {
        "document" => run_document(doc),
        _ => run_registry(doc),
    })
}

#[test]
fn every_document_and_registry_scenario_passes() {
    let mut report = Vec::new();
    let mut ran: HashMap<&str, usize> = HashMap::new();
    for path in scenario_files() {
        let Some(failures) = run_file(&path) else {
            continue;
        };
        let dir = path
            .parent()
            .and_then(Path::file_name)
            .and_then(|d| d.to_str())
            .unwrap_or("");
        *ran.entry(if dir == "registry" {
            "registry"
        } else {
            "document"
        })
        .or_default() += 1;
        if !failures.is_empty() {
            let name = path.strip_prefix(repo_root()).unwrap_or(&path).display();
            report.push(format!("{name}:\n    {}", failures.join("\n    ")));
        }
    }
    assert!(
        report.is_empty(),
        "{} scenarios failed:\n{}",
        report.len(),
        report.join("\n")
    );
    assert!(
        ran.get("document").copied().unwrap_or(0) > 0
            && ran.get("registry").copied().unwrap_or(0) > 0,
        "no document or registry scenarios found: {ran:?}"
    );
}

/// Scenarios of these components live in their own directories, and nothing else does.
#[test]
fn scenarios_live_in_their_component_directory() {
    for path in scenario_files() {
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let component = doc["component"].as_str().unwrap_or("");
        let dir = path
            .parent()
            .and_then(Path::file_name)
            .and_then(|d| d.to_str())
            .unwrap_or("");
        if COMPONENTS.contains(&component) || COMPONENTS.contains(&dir) {
            assert_eq!(component, dir, "{}", path.display());
        }
    }
}

// ---- TOML (not reachable from JSON scenarios) -------------------------------------------------

const SEED_JSON: &str = r#"{
  "circuitBreakers": {
    "defaults": { "failureThreshold": 5, "timeout": 60000, "halfOpenMaxCalls": 3 },
    "agentSpecific": { "architect": { "failureThreshold": 3, "timeout": 30000 } }
  },
  "retry": { "defaults": { "max_attempts": 3 }, "agentSpecific": {} },
  "degradationRules": [ ],
  "healthChecks": { "enabled": true, "interval": 30000, "timeout": 5000 },
  "monitoring": { "enabled": true, "port": 3001 }
}"#;

const SEED_TOML: &str = r#"
degradationRules = []

[circuitBreakers.defaults]
failureThreshold = 5
timeout = 60000
halfOpenMaxCalls = 3

[circuitBreakers.agentSpecific.architect]
failureThreshold = 3
timeout = 30000

[retry.defaults]
max_attempts = 3

[retry.agentSpecific]

[healthChecks]
enabled = true
interval = 30000
timeout = 5000

[monitoring]
enabled = true
port = 3001
"#;

const SNAKE_JSON: &str = r#"{
  "circuit_breakers": {
    "enabled": true,
    "defaults": {
      "failure_rate_threshold": 0.25,
      "window": { "type": "count", "size": 20 },
      "recovery_timeout_ms": 1500
    },
    "agent_specific": {
      "db": { "recovery_backoff": { "multiplier": 2.0, "max_ms": 60000 } }
    }
  },
  "retry": {
    "defaults": {
      "retry_on": ["server", "timeout"],
      "jitter": "equal",
      "budget": { "ratio": 0.1, "ttl_ms": 5000 }
    }
  },
  "rate_limiters": { "defaults": { "max_requests": 10 } },
  "bulkheads": { "max_concurrent": 4, "max_wait_ms": 250 },
  "slo": { "target": 0.999 }
}"#;

const SNAKE_TOML: &str = r#"
[circuit_breakers]
enabled = true

[circuit_breakers.defaults]
failure_rate_threshold = 0.25
window = { type = "count", size = 20 }
recovery_timeout_ms = 1500

[circuit_breakers.agent_specific.db]
recovery_backoff = { multiplier = 2.0, max_ms = 60000 }

[retry.defaults]
retry_on = ["server", "timeout"]
jitter = "equal"
budget = { ratio = 0.1, ttl_ms = 5000 }

[rate_limiters.defaults]
max_requests = 10

[bulkheads]
max_concurrent = 4
max_wait_ms = 250

[slo]
target = 0.999
"#;

#[test]
fn toml_documents_parse_like_their_json_twins() {
    for (json, toml) in [(SEED_JSON, SEED_TOML), (SNAKE_JSON, SNAKE_TOML)] {
        let from_json = Document::from_json_str(json).unwrap();
        let from_toml = Document::from_toml_str(toml).unwrap();
        assert_eq!(from_toml, from_json, "TOML:\n{toml}");
        assert_eq!(
            Document::from_text(toml, "breakwater.toml").unwrap(),
            from_json
        );
        assert_eq!(
            Document::from_text(json, "breakwater.json").unwrap(),
            from_json
        );
    }
    let seed = Document::from_toml_str(SEED_TOML).unwrap();
    let architect = breaker_values(&seed.breakers.config_for("architect"));
    assert_eq!(architect["failure_threshold"], 3);
    assert_eq!(architect["recovery_timeout_ms"], 30000);
    assert_eq!(architect["half_open_max_calls"], 3);
    let snake = Document::from_toml_str(SNAKE_TOML).unwrap();
    assert_eq!(
        breaker_values(&snake.breakers.config_for("db"))["window"],
        serde_json::json!({"type": "count", "size": 20}),
        "per-name overrides layer over the TOML defaults"
    );
}

#[test]
fn toml_errors_name_the_key_like_json() {
    let toml =
        "[circuit_breakers.agent_specific.db]\nfailure_treshold = 3\nsuccess_threshold = 0\n";
    let e = Document::from_toml_str(toml).unwrap_err();
    let keys: Vec<&str> = e.0.iter().map(|x| x.key.as_str()).collect();
    assert_eq!(keys, ["failure_treshold", "success_threshold"]);
    let paths: Vec<&str> = e.0.iter().map(|x| x.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "circuit_breakers.agent_specific.db.failure_treshold",
            "circuit_breakers.agent_specific.db.success_threshold"
        ]
    );
    assert!(
        e.first()
            .allowed
            .contains("did you mean `failure_threshold`")
    );
    let json = r#"{"circuit_breakers": {"agent_specific": {"db": {"failure_treshold": 3, "success_threshold": 0}}}}"#;
    assert_eq!(Document::from_json_str(json).unwrap_err(), e);

    let bad = Document::from_toml_str("[circuit_breakers\nfailure_threshold = 3").unwrap_err();
    assert_eq!(bad.first().key, "(document)");
    assert_eq!(bad.code().as_str(), "CONFIG_INVALID");
    assert!(bad.first().value.starts_with("invalid TOML"));
    // A path hint that is not .toml reads JSON.
    assert!(Document::from_text("failure_threshold = 3", "breakwater.json").is_err());
}
