//! The Prometheus exposition, checked by a strict parser of text format 0.0.4 (the rules
//! `promtool check metrics` applies, plus breakwater's own: the prefix, HELP on every family,
//! `_total` on counters, contiguous families, no duplicate series, well-formed histograms).
//!
//! `BW_METRICS_OUT=path cargo test -p breakwater-core --test metrics_exposition` also writes
//! the sample exposition to `path`, for `scripts/check-metrics.sh` to hand to promtool.

#![cfg(not(loom))]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use breakwater_core::breaker::{BreakerConfig, CircuitBreaker, Outcome};
use breakwater_core::eventlog::AlertManager;
use breakwater_core::health::{CheckResult, HealthCheckConfig, HealthRegistry, HealthStatus};
use breakwater_core::metrics::{
    BulkheadSample, DegradationSample, MetricsSources, RateLimiterSample, render,
};
use breakwater_core::policy::{AttemptOutcome, Policy, PolicyParts, Step};
use breakwater_core::retry::{Jitter, RetryConfig, RetryPolicy};
use breakwater_core::slo::{Slo, SloConfig};
use breakwater_core::{
    Bulkhead, BulkheadConfig, Category, Classification, ClockRef, ManualClock, RateLimiter,
    RateLimiterConfig,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Counter,
    Gauge,
    Histogram,
}

#[derive(Debug, Default)]
struct FamilyInfo {
    help: bool,
    kind: Option<Kind>,
    has_samples: bool,
    closed: bool,
}

/// One parsed sample.
#[derive(Debug, Clone)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

fn valid_metric_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn valid_label_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !s.starts_with("__")
}

/// Go's ParseFloat as the text format uses it.
fn parse_value(s: &str) -> Result<f64, String> {
    match s {
        "NaN" => return Ok(f64::NAN),
        "+Inf" => return Ok(f64::INFINITY),
        "-Inf" => return Ok(f64::NEG_INFINITY),
        _ => {}
    }
    let ok = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'))
        && s.chars().any(|c| c.is_ascii_digit());
    if !ok {
        return Err(format!("bad value {s:?}"));
    }
    s.parse::<f64>()
        .map_err(|e| format!("bad value {s:?}: {e}"))
}

fn parse_labels(s: &str) -> Result<(BTreeMap<String, String>, &str), String> {
    // s starts after '{'
    let mut labels = BTreeMap::new();
    let mut rest = s;
    if let Some(r) = rest.strip_prefix('}') {
        return Ok((labels, r));
    }
    loop {
        let eq = rest.find('=').ok_or("label without =")?;
        let name = &rest[..eq];
        if !valid_label_name(name) {
            return Err(format!("bad label name {name:?}"));
        }
        rest = rest[eq + 1..]
            .strip_prefix('"')
            .ok_or("label value not quoted")?;
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            let (i, c) = chars.next().ok_or("unterminated label value")?;
            match c {
                '\\' => match chars.next() {
                    Some((_, '\\')) => value.push('\\'),
                    Some((_, '"')) => value.push('"'),
                    Some((_, 'n')) => value.push('\n'),
                    other => return Err(format!("bad escape {other:?} in label value")),
                },
                '"' => break i,
                '\n' => return Err("raw newline in label value".into()),
                c => value.push(c),
            }
        };
        if labels.insert(name.to_string(), value).is_some() {
            return Err(format!("duplicate label {name:?}"));
        }
        rest = &rest[end + 1..];
        if let Some(r) = rest.strip_prefix(',') {
            rest = r;
            if rest.starts_with('}') {
                return Err("trailing comma in labels".into());
            }
        } else if let Some(r) = rest.strip_prefix('}') {
            return Ok((labels, r));
        } else {
            return Err("expected , or } after a label".into());
        }
    }
}

fn parse_sample(line: &str) -> Result<Sample, String> {
    let name_end = line.find(['{', ' ']).ok_or("sample without a value")?;
    let name = &line[..name_end];
    if !valid_metric_name(name) {
        return Err(format!("bad metric name {name:?}"));
    }
    let (labels, rest) = if line[name_end..].starts_with('{') {
        parse_labels(&line[name_end + 1..])?
    } else {
        (BTreeMap::new(), &line[name_end..])
    };
    let rest = rest.strip_prefix(' ').ok_or("no space before the value")?;
    let mut parts = rest.split(' ');
    let value = parse_value(parts.next().ok_or("no value")?)?;
    if let Some(ts) = parts.next() {
        ts.parse::<i64>()
            .map_err(|_| format!("bad timestamp {ts:?}"))?;
    }
    if parts.next().is_some() {
        return Err("trailing text after the sample".into());
    }
    Ok(Sample {
        name: name.to_string(),
        labels,
        value,
    })
}

fn unescape_help(s: &str) -> Result<(), String> {
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' && !matches!(chars.next(), Some('\\' | 'n')) {
            return Err("bad escape in HELP".into());
        }
    }
    Ok(())
}

/// Parses and checks an exposition; returns the samples.
fn check_exposition(text: &str) -> Result<Vec<Sample>, String> {
    if !text.ends_with('\n') {
        return Err("the exposition must end with a newline".into());
    }
    let mut families: HashMap<String, FamilyInfo> = HashMap::new();
    let mut current: Option<String> = None;
    let mut samples = Vec::new();
    let mut series: HashSet<String> = HashSet::new();
    let mut label_names: HashMap<String, Vec<String>> = HashMap::new();
    for (n, line) in text.lines().enumerate() {
        let err = |m: String| format!("line {}: {m}: {line:?}", n + 1);
        if line.is_empty() {
            return Err(err("empty line".into()));
        }
        if let Some(rest) = line.strip_prefix("# ") {
            let mut parts = rest.splitn(3, ' ');
            let keyword = parts.next().unwrap_or("");
            let name = parts
                .next()
                .ok_or_else(|| err("comment without a name".into()))?;
            let arg = parts
                .next()
                .ok_or_else(|| err("comment without text".into()))?;
            if !valid_metric_name(name) {
                return Err(err(format!("bad metric name {name:?}")));
            }
            let fam = families.entry(name.to_string()).or_default();
            if fam.has_samples {
                return Err(err("HELP/TYPE after the family's samples".into()));
            }
            match keyword {
                "HELP" => {
                    if fam.help {
                        return Err(err("second HELP".into()));
                    }
                    unescape_help(arg).map_err(err)?;
                    if arg.trim().is_empty() {
                        return Err(err("empty HELP".into()));
                    }
                    fam.help = true;
                }
                "TYPE" => {
                    if fam.kind.is_some() {
                        return Err(err("second TYPE".into()));
                    }
                    fam.kind = Some(match arg {
                        "counter" => Kind::Counter,
                        "gauge" => Kind::Gauge,
                        "histogram" => Kind::Histogram,
                        other => return Err(err(format!("unexpected type {other:?}"))),
                    });
                }
                other => return Err(err(format!("unexpected comment {other:?}"))),
            }
            continue;
        }
        if line.starts_with('#') {
            return Err(err("stray comment".into()));
        }
        let s = parse_sample(line).map_err(err)?;
        // The family: the name itself, or a histogram's base name.
        let family = if families.get(&s.name).is_some_and(|f| f.kind.is_some()) {
            s.name.clone()
        } else {
            ["_bucket", "_sum", "_count"]
                .iter()
                .filter_map(|suf| s.name.strip_suffix(suf))
                .find(|base| {
                    families
                        .get(*base)
                        .is_some_and(|f| f.kind == Some(Kind::Histogram))
                })
                .map(str::to_string)
                .ok_or_else(|| err("sample of a family without TYPE".into()))?
        };
        let fam = families.get_mut(&family).unwrap();
        if !fam.help {
            return Err(err("family without HELP".into()));
        }
        if fam.closed {
            return Err(err(format!("family {family} is not contiguous")));
        }
        if current.as_deref() != Some(family.as_str()) {
            if let Some(prev) = current.take() {
                families.get_mut(&prev).unwrap().closed = true;
            }
            current = Some(family.clone());
        }
        let fam = families.get_mut(&family).unwrap();
        fam.has_samples = true;
        if !family.starts_with("breakwater_") {
            return Err(err("name without the breakwater_ prefix".into()));
        }
        match fam.kind.unwrap() {
            Kind::Counter => {
                if !family.ends_with("_total") {
                    return Err(err("counter name without _total".into()));
                }
                if s.value.is_nan() || s.value < 0.0 {
                    return Err(err("negative or NaN counter".into()));
                }
            }
            Kind::Gauge => {
                for bad in ["_total", "_count", "_sum", "_bucket"] {
                    if family.ends_with(bad) {
                        return Err(err(format!("gauge name ending in {bad}")));
                    }
                }
            }
            Kind::Histogram => {
                let is_bucket = s.name.ends_with("_bucket");
                if is_bucket != s.labels.contains_key("le") {
                    return Err(err(
                        "le on a non-bucket sample, or a bucket without le".into()
                    ));
                }
            }
        }
        if fam.kind != Some(Kind::Histogram) {
            let names: Vec<String> = s.labels.keys().cloned().collect();
            let known = label_names.entry(family.clone()).or_insert(names.clone());
            if *known != names {
                return Err(err("label names differ within the family".into()));
            }
        }
        let key = format!("{}{:?}", s.name, s.labels);
        if !series.insert(key) {
            return Err(err("duplicate series".into()));
        }
        samples.push(s);
    }
    for (name, f) in &families {
        if f.kind.is_none() || !f.help {
            return Err(format!("family {name} lacks HELP or TYPE"));
        }
    }
    // Histograms: ascending le, cumulative counts, +Inf == _count, _sum present.
    let mut hist: BTreeMap<(String, String), Vec<(f64, f64)>> = BTreeMap::new();
    let mut sums: HashMap<(String, String), f64> = HashMap::new();
    let mut counts: HashMap<(String, String), f64> = HashMap::new();
    for s in &samples {
        let base = ["_bucket", "_sum", "_count"].iter().find_map(|suf| {
            s.name
                .strip_suffix(suf)
                .filter(|b| families.get(*b).and_then(|f| f.kind) == Some(Kind::Histogram))
                .map(|b| (b.to_string(), *suf))
        });
        let Some((base, suffix)) = base else { continue };
        let mut rest = s.labels.clone();
        let le = rest.remove("le");
        let key = (base, format!("{rest:?}"));
        match suffix {
            "_bucket" => hist
                .entry(key)
                .or_default()
                .push((parse_value(le.as_deref().unwrap())?, s.value)),
            "_sum" => {
                sums.insert(key, s.value);
            }
            _ => {
                counts.insert(key, s.value);
            }
        }
    }
    for (key, buckets) in &hist {
        for w in buckets.windows(2) {
            if w[0].0.partial_cmp(&w[1].0) != Some(std::cmp::Ordering::Less) {
                return Err(format!("{key:?}: le not ascending"));
            }
            if w[1].1 < w[0].1 {
                return Err(format!("{key:?}: bucket counts not cumulative"));
            }
        }
        let last = buckets.last().unwrap();
        if last.0 != f64::INFINITY {
            return Err(format!("{key:?}: no +Inf bucket"));
        }
        if counts.get(key) != Some(&last.1) {
            return Err(format!("{key:?}: _count differs from the +Inf bucket"));
        }
        if !sums.contains_key(key) {
            return Err(format!("{key:?}: no _sum"));
        }
    }
    if hist.len() != counts.len() || hist.len() != sums.len() {
        return Err("histogram parts without buckets".into());
    }
    Ok(samples)
}

fn find<'a>(samples: &'a [Sample], name: &str, labels: &[(&str, &str)]) -> Option<&'a Sample> {
    samples.iter().find(|s| {
        s.name == name
            && labels
                .iter()
                .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
    })
}

struct World {
    clock: Arc<ManualClock>,
    breakers: Vec<Arc<CircuitBreaker>>,
    policy: Policy,
    limiter: RateLimiter,
    bulkhead: Bulkhead,
    health: HealthRegistry,
    slo: Slo,
    alerts: Arc<AlertManager>,
}

fn world() -> World {
    let clock = Arc::new(ManualClock::new());
    let cref = ClockRef::Manual(clock.clone());
    let cfg = BreakerConfig {
        failure_threshold: 3,
        slow_call_duration: Some(Duration::from_millis(800)),
        ..BreakerConfig::default()
    };
    let db = Arc::new(CircuitBreaker::new("db", cfg.clone(), cref.clone()).unwrap());
    // A name that needs escaping: component names are free text from configuration.
    let odd = Arc::new(CircuitBreaker::new("we\"ird\\name\nx", cfg, cref.clone()).unwrap());
    let alerts = Arc::new(AlertManager::new(cref.clone()));
    db.subscribe(None, alerts.listener());
    for (ms, outcome) in [
        (3, Outcome::Success),
        (40, Outcome::Success),
        (900, Outcome::Success),
        (120, Outcome::Failure(Category::Server)),
        (7, Outcome::Ignored(Category::Client)),
        (2, Outcome::Failure(Category::Timeout)),
        (150_000, Outcome::Failure(Category::Timeout)),
    ] {
        let p = db.try_acquire().unwrap();
        clock.advance(Duration::from_millis(ms));
        db.record(p, outcome);
    }
    let _ = db.try_acquire(); // rejected: open
    let p = odd.try_acquire().unwrap();
    odd.record(p, Outcome::Success);

    let retry = RetryPolicy::new(
        RetryConfig {
            max_attempts: 2,
            jitter: Jitter::None,
            ..RetryConfig::default()
        },
        7,
        None,
    )
    .unwrap();
    let svc = Arc::new(CircuitBreaker::new("svc", BreakerConfig::default(), cref.clone()).unwrap());
    let policy = Policy::new(
        "svc",
        PolicyParts {
            breaker: Some(svc.clone()),
            retry: Some(Arc::new(retry)),
            ..PolicyParts::default()
        },
    )
    .unwrap();
    let server = AttemptOutcome::Failure(Classification::of(Category::Server));
    let (mut call, _) = policy.start();
    let Step::Sleep { delay } = policy.on_outcome(&mut call, server) else {
        panic!("a retry")
    };
    clock.advance(delay);
    policy.after_sleep(&mut call);
    policy.on_outcome(&mut call, server);
    let (mut call, _) = policy.start();
    policy.on_outcome(&mut call, AttemptOutcome::Success);

    let limiter = RateLimiter::new(RateLimiterConfig::default(), clock_now(&clock)).unwrap();
    let _ = limiter.try_acquire(clock_now(&clock));
    let bulkhead = Bulkhead::new(BulkheadConfig::default()).unwrap();
    bulkhead.try_enter();

    let health = HealthRegistry::new(cref.clone());
    health.set_alerts(Some(&alerts));
    health
        .register(
            "db",
            HealthCheckConfig {
                failure_threshold: 1,
                ..HealthCheckConfig::default()
            },
        )
        .unwrap();
    health
        .register("cache", HealthCheckConfig::default())
        .unwrap();
    health.add_breaker_dependency(&db, true);
    health
        .report(
            "cache",
            CheckResult::new(HealthStatus::Degraded).with_latency(Duration::from_millis(12)),
        )
        .unwrap();

    let slo = Slo::new("db", SloConfig::default(), cref).unwrap();
    slo.record_counts(9_990, 10);
    alerts.observe_slo(&slo);
    World {
        clock,
        breakers: vec![db, odd, svc],
        policy,
        limiter,
        bulkhead,
        health,
        slo,
        alerts,
    }
}

fn clock_now(c: &ManualClock) -> u64 {
    use breakwater_core::Clock;
    c.now()
}

fn render_world(w: &World) -> String {
    let breakers: Vec<&CircuitBreaker> = w.breakers.iter().map(|b| &**b).collect();
    let limiters = [RateLimiterSample {
        name: "svc",
        limiter: &w.limiter,
        now: Some(clock_now(&w.clock)),
        rejected_total: Some(0),
    }];
    let bulkheads = [BulkheadSample {
        name: "svc",
        bulkhead: &w.bulkhead,
        rejected_total: Some(2),
    }];
    let degradations = [DegradationSample {
        component: "db",
        level: 2,
        active: true,
        triggered_total: 1,
        served_total: 4,
    }];
    let policies = [&w.policy];
    let slos = [&w.slo];
    render(&MetricsSources {
        breakers: &breakers,
        policies: &policies,
        rate_limiters: &limiters,
        bulkheads: &bulkheads,
        degradations: &degradations,
        health: Some(&w.health),
        slos: &slos,
        alerts: Some(&w.alerts),
    })
}

#[test]
fn exposition_passes_the_strict_parser() {
    let w = world();
    let text = render_world(&w);
    if let Ok(path) = std::env::var("BW_METRICS_OUT") {
        std::fs::write(&path, &text).expect("write the sample exposition");
    }
    let samples = check_exposition(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));

    let db = [("component", "db")];
    let get = |name: &str, labels: &[(&str, &str)]| {
        find(&samples, name, labels)
            .unwrap_or_else(|| panic!("no {name} {labels:?}"))
            .value
    };
    assert_eq!(
        get(
            "breakwater_circuit_breaker_state",
            &[("component", "db"), ("state", "open")]
        ),
        1.0
    );
    assert_eq!(
        get(
            "breakwater_circuit_breaker_calls_total",
            &[("component", "db"), ("outcome", "failure")]
        ),
        3.0
    );
    assert_eq!(get("breakwater_circuit_breaker_rejections_total", &db), 1.0);
    assert_eq!(get("breakwater_circuit_breaker_slow_calls_total", &db), 2.0);
    assert_eq!(
        get(
            "breakwater_circuit_breaker_transitions_total",
            &[("component", "db"), ("to", "open")]
        ),
        1.0
    );
    assert_eq!(
        get(
            "breakwater_circuit_breaker_call_duration_seconds_count",
            &db
        ),
        7.0
    );
    assert_eq!(
        get(
            "breakwater_circuit_breaker_call_duration_seconds_bucket",
            &[("component", "db"), ("le", "0.005")]
        ),
        2.0
    );
    assert_eq!(
        get(
            "breakwater_circuit_breaker_call_duration_seconds_bucket",
            &[("component", "db"), ("le", "120")]
        ),
        6.0
    );
    assert_eq!(
        get(
            "breakwater_circuit_breaker_state",
            &[("component", "we\"ird\\name\nx"), ("state", "closed")]
        ),
        1.0,
        "label values round-trip through escaping"
    );
    let svc = [("component", "svc")];
    assert_eq!(get("breakwater_policy_attempts_total", &svc), 3.0);
    assert_eq!(get("breakwater_retries_total", &svc), 1.0);
    assert_eq!(
        get(
            "breakwater_retry_give_ups_total",
            &[("component", "svc"), ("reason", "max_attempts")]
        ),
        1.0
    );
    assert_eq!(
        get(
            "breakwater_policy_calls_total",
            &[("component", "svc"), ("result", "retry_exhausted")]
        ),
        1.0
    );
    assert_eq!(get("breakwater_rate_limiter_tokens_available", &svc), 99.0);
    assert_eq!(get("breakwater_bulkhead_in_flight", &svc), 1.0);
    assert_eq!(get("breakwater_degradation_level", &db), 2.0);
    assert_eq!(
        get(
            "breakwater_health_check_status",
            &[("component", "db"), ("status", "unhealthy")]
        ),
        1.0,
        "the db breaker is open: its check counts as failing"
    );
    assert_eq!(get("breakwater_health_ready", &[]), 0.0);
    assert_eq!(
        get(
            "breakwater_health_check_latency_seconds",
            &[("component", "cache")]
        ),
        0.012
    );
    assert_eq!(get("breakwater_slo_error_budget_consumed_ratio", &db), 1.0);
    assert_eq!(
        get(
            "breakwater_slo_recommendation",
            &[("component", "db"), ("level", "exhausted")]
        ),
        1.0
    );
    assert_eq!(
        get("breakwater_alerts_raised_total", &[("severity", "warning")]),
        2.0,
        "breaker opened, error budget 80 %"
    );
    assert_eq!(
        get("breakwater_alerts_active", &[("severity", "critical")]),
        1.0,
        "error budget exhausted"
    );
}

#[test]
fn every_documented_name_is_rendered_and_every_rendered_name_documented() {
    let w = world();
    let text = render_world(&w);
    let doc = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/metrics.md"),
    )
    .expect("docs/metrics.md");
    let rendered: HashSet<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split(' ').next())
        .collect();
    let documented: HashSet<&str> = doc
        .split('`')
        .filter(|w| {
            w.len() > "breakwater_".len()
                && w.starts_with("breakwater_")
                && !w.contains(':')
                && valid_metric_name(w)
        })
        .collect();
    let undocumented: Vec<_> = rendered.difference(&documented).collect();
    let unrendered: Vec<_> = documented.difference(&rendered).collect();
    assert!(
        undocumented.is_empty(),
        "not in docs/metrics.md: {undocumented:?}"
    );
    assert!(
        unrendered.is_empty(),
        "documented but never rendered: {unrendered:?}"
    );
}

#[test]
fn the_parser_rejects_what_promtool_rejects() {
    let ok =
        "# HELP breakwater_x_total x.\n# TYPE breakwater_x_total counter\nbreakwater_x_total 1\n";
    assert!(check_exposition(ok).is_ok());
    for bad in [
        // no TYPE
        "# HELP breakwater_x_total x.\nbreakwater_x_total 1\n",
        // counter without _total
        "# HELP breakwater_x x.\n# TYPE breakwater_x counter\nbreakwater_x 1\n",
        // duplicate series
        "# HELP breakwater_x_total x.\n# TYPE breakwater_x_total counter\nbreakwater_x_total 1\nbreakwater_x_total 2\n",
        // bad value spelling
        "# HELP breakwater_x x.\n# TYPE breakwater_x gauge\nbreakwater_x inf\n",
        // bad escape
        "# HELP breakwater_x x.\n# TYPE breakwater_x gauge\nbreakwater_x{a=\"\\t\"} 1\n",
        // non-contiguous family
        "# HELP breakwater_x x.\n# TYPE breakwater_x gauge\nbreakwater_x{a=\"1\"} 1\n# HELP breakwater_y y.\n# TYPE breakwater_y gauge\nbreakwater_y 1\nbreakwater_x{a=\"2\"} 1\n",
        // histogram without +Inf
        "# HELP breakwater_h h.\n# TYPE breakwater_h histogram\nbreakwater_h_bucket{le=\"1\"} 1\nbreakwater_h_sum 1\nbreakwater_h_count 1\n",
        // _count differs from +Inf
        "# HELP breakwater_h h.\n# TYPE breakwater_h histogram\nbreakwater_h_bucket{le=\"+Inf\"} 1\nbreakwater_h_sum 1\nbreakwater_h_count 2\n",
        // missing final newline
        "# HELP breakwater_x x.\n# TYPE breakwater_x gauge\nbreakwater_x 1",
    ] {
        assert!(check_exposition(bad).is_err(), "accepted: {bad:?}");
    }
}

#[test]
fn empty_sources_render_nothing() {
    assert_eq!(render(&MetricsSources::default()), "");
}
