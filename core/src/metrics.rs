//! Prometheus text exposition (format 0.0.4), rendered by the core so every language serves the
//! same names, labels and buckets. The renderer takes plain slices of references to what it
//! should show ([`MetricsSources`]); whoever owns the components (a registry, a host) gathers
//! them. Every name starts with `breakwater_`; labels take component names (from
//! configuration and code) and closed sets of values only, never request data. Names are
//! documented in `docs/metrics.md`.
//!
//! The only thing on the hot path is [`DurationHistogram::record`]: a fixed array of counters,
//! updated under the lock the breaker's record path already holds, with no allocation.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::time::Duration;

use crate::breaker::{CircuitBreaker, State};
use crate::clock::Nanos;
use crate::eventlog::{AlertManager, AlertSeverity};
use crate::health::{HealthRegistry, HealthStatus};
use crate::limiter::{Bulkhead, RateLimiter};
use crate::policy::Policy;
use crate::retry::GiveUpReason;
use crate::slo::{Recommendation, Slo};

/// Upper bounds of the call-duration buckets, in ns: 1 ms to 2 min in 1-2.5-5 steps, so
/// `histogram_quantile` reads p50/p95/p99 within one step of the truth from fast cache hits to
/// slow model calls. A last, implicit bucket is `+Inf`.
pub const DURATION_BUCKETS_NANOS: [u64; 18] = [
    1_000_000,
    2_500_000,
    5_000_000,
    10_000_000,
    25_000_000,
    50_000_000,
    100_000_000,
    250_000_000,
    500_000_000,
    1_000_000_000,
    2_500_000_000,
    5_000_000_000,
    10_000_000_000,
    15_000_000_000,
    30_000_000_000,
    60_000_000_000,
    90_000_000_000,
    120_000_000_000,
];

/// Buckets including `+Inf`.
pub const DURATION_BUCKET_COUNT: usize = DURATION_BUCKETS_NANOS.len() + 1;

/// Call durations in fixed buckets. `Copy`, no heap: recording is a search over a constant
/// array and two additions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DurationHistogram {
    /// Per-bucket (not cumulative) counts; the last is `+Inf`.
    pub counts: [u64; DURATION_BUCKET_COUNT],
    /// Sum of every recorded duration, ns (saturating).
    pub sum_nanos: u64,
}

impl DurationHistogram {
    /// Counts one duration: it goes to the first bucket whose bound is `>=` it.
    #[inline]
    pub fn record(&mut self, nanos: Nanos) {
        let i = DURATION_BUCKETS_NANOS.partition_point(|&b| b < nanos);
        self.counts[i] += 1;
        self.sum_nanos = self.sum_nanos.saturating_add(nanos);
    }

    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    pub fn sum(&self) -> Duration {
        Duration::from_nanos(self.sum_nanos)
    }

    /// An estimate of quantile `q` (0..=1) the way Prometheus' `histogram_quantile` makes it:
    /// linear within the bucket that holds it. `None` when empty; the last finite bound when it
    /// falls in `+Inf`.
    pub fn quantile(&self, q: f64) -> Option<Duration> {
        let total = self.count();
        if total == 0 {
            return None;
        }
        let rank = q.clamp(0.0, 1.0) * total as f64;
        let mut seen = 0u64;
        for (i, &c) in self.counts.iter().enumerate() {
            if c > 0 && (seen + c) as f64 >= rank {
                let Some(&upper) = DURATION_BUCKETS_NANOS.get(i) else {
                    return Some(Duration::from_nanos(DURATION_BUCKETS_NANOS[i - 1]));
                };
                let lower = if i == 0 {
                    0
                } else {
                    DURATION_BUCKETS_NANOS[i - 1]
                };
                let frac = ((rank - seen as f64) / c as f64).clamp(0.0, 1.0);
                return Some(Duration::from_nanos(
                    lower + ((upper - lower) as f64 * frac) as u64,
                ));
            }
            seen += c;
        }
        None
    }
}

/// A rate limiter to show, under a component name.
#[derive(Debug, Clone, Copy)]
pub struct RateLimiterSample<'a> {
    pub name: &'a str,
    pub limiter: &'a RateLimiter,
    /// The limiter's clock reading, to show the tokens available now (omitted when `None`).
    pub now: Option<Nanos>,
    /// Rejections, when the owner counts them (policies count theirs in
    /// `breakwater_policy_rejections_total`).
    pub rejected_total: Option<u64>,
}

/// A bulkhead to show, under a component name.
#[derive(Debug, Clone, Copy)]
pub struct BulkheadSample<'a> {
    pub name: &'a str,
    pub bulkhead: &'a Bulkhead,
    pub rejected_total: Option<u64>,
}

/// A component's degradation, as the degradation manager reports it (a hook: the manager
/// fills these in).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DegradationSample<'a> {
    pub component: &'a str,
    /// 0 none, 1 partial, 2 significant, 3 severe, 4 critical.
    pub level: u8,
    pub active: bool,
    /// Degradations of this component triggered so far.
    pub triggered_total: u64,
    /// Calls a fallback strategy served for this component so far.
    pub served_total: u64,
}

/// Everything one exposition shows. Every field is optional (empty); duplicate names within
/// one kind are shown once (the first).
#[derive(Debug, Clone, Copy, Default)]
pub struct MetricsSources<'a> {
    pub breakers: &'a [&'a CircuitBreaker],
    pub policies: &'a [&'a Policy],
    pub rate_limiters: &'a [RateLimiterSample<'a>],
    pub bulkheads: &'a [BulkheadSample<'a>],
    pub degradations: &'a [DegradationSample<'a>],
    pub health: Option<&'a HealthRegistry>,
    pub slos: &'a [&'a Slo],
    pub alerts: Option<&'a AlertManager>,
}

/// The content type of what [`render`] returns.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Renders the exposition.
pub fn render(sources: &MetricsSources<'_>) -> String {
    let mut out = String::with_capacity(4096);
    render_into(sources, &mut out);
    out
}

/// One metric family: its samples are gathered, then written with HELP and TYPE when there is
/// at least one.
struct Family {
    name: &'static str,
    kind: &'static str,
    help: &'static str,
    lines: String,
}

impl Family {
    fn new(name: &'static str, kind: &'static str, help: &'static str) -> Self {
        Self {
            name,
            kind,
            help,
            lines: String::new(),
        }
    }

    fn sample(&mut self, suffix: &str, labels: &[(&str, &str)], value: Value) {
        self.lines.push_str(self.name);
        self.lines.push_str(suffix);
        if !labels.is_empty() {
            self.lines.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.lines.push(',');
                }
                self.lines.push_str(k);
                self.lines.push_str("=\"");
                escape_label(&mut self.lines, v);
                self.lines.push('"');
            }
            self.lines.push('}');
        }
        self.lines.push(' ');
        match value {
            Value::Int(n) => {
                let _ = write!(self.lines, "{n}");
            }
            Value::Float(f) => write_float(&mut self.lines, f),
        }
        self.lines.push('\n');
    }

    fn int(&mut self, labels: &[(&str, &str)], n: u64) {
        self.sample("", labels, Value::Int(n));
    }

    fn float(&mut self, labels: &[(&str, &str)], f: f64) {
        self.sample("", labels, Value::Float(f));
    }

    fn flag(&mut self, labels: &[(&str, &str)], on: bool) {
        self.int(labels, on as u64);
    }

    fn write(self, out: &mut String) {
        if self.lines.is_empty() {
            return;
        }
        let _ = writeln!(out, "# HELP {} {}", self.name, self.help);
        let _ = writeln!(out, "# TYPE {} {}", self.name, self.kind);
        out.push_str(&self.lines);
    }
}

#[derive(Debug, Clone, Copy)]
enum Value {
    Int(u64),
    Float(f64),
}

fn escape_label(out: &mut String, v: &str) {
    for ch in v.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// Go's `ParseFloat` syntax: `NaN`, `+Inf`, `-Inf`, plain decimals, or exponent form for very
/// large and very small magnitudes.
fn write_float(out: &mut String, f: f64) {
    if f.is_nan() {
        out.push_str("NaN");
    } else if f.is_infinite() {
        out.push_str(if f > 0.0 { "+Inf" } else { "-Inf" });
    } else if f != 0.0 && (f.abs() >= 1e15 || f.abs() < 1e-6) {
        let _ = write!(out, "{f:e}");
    } else {
        let _ = write!(out, "{f}");
    }
}

fn seconds(nanos: u64) -> f64 {
    nanos as f64 / 1e9
}

/// Keeps the first of each name.
fn unique<T>(items: impl IntoIterator<Item = T>, name: impl Fn(&T) -> &str) -> Vec<T> {
    let mut seen: HashSet<String> = HashSet::new();
    items
        .into_iter()
        .filter(|t| seen.insert(name(t).to_string()))
        .collect()
}

/// Renders the exposition into `out` (appending).
pub fn render_into(sources: &MetricsSources<'_>, out: &mut String) {
    breakers(sources.breakers, out);
    policies(sources.policies, out);
    limiters(sources.rate_limiters, sources.bulkheads, out);
    degradations(sources.degradations, out);
    if let Some(h) = sources.health {
        health(h, out);
    }
    slos(sources.slos, out);
    if let Some(a) = sources.alerts {
        alerts(a, out);
    }
}

fn breakers(list: &[&CircuitBreaker], out: &mut String) {
    let list = unique(list.iter().copied(), |b| b.name());
    if list.is_empty() {
        return;
    }
    let mut state = Family::new(
        "breakwater_circuit_breaker_state",
        "gauge",
        "Circuit breaker state: 1 for the current state, 0 for the others.",
    );
    let mut calls = Family::new(
        "breakwater_circuit_breaker_calls_total",
        "counter",
        "Calls recorded by the breaker, by outcome (success, failure, ignored).",
    );
    let mut rejections = Family::new(
        "breakwater_circuit_breaker_rejections_total",
        "counter",
        "Calls the breaker rejected (open, half-open full, forced open).",
    );
    let mut slow = Family::new(
        "breakwater_circuit_breaker_slow_calls_total",
        "counter",
        "Recorded calls that lasted at least slow_call_duration.",
    );
    let mut transitions = Family::new(
        "breakwater_circuit_breaker_transitions_total",
        "counter",
        "State transitions, by the state entered.",
    );
    let mut failure_rate = Family::new(
        "breakwater_circuit_breaker_failure_rate",
        "gauge",
        "Failure rate of the calls in the sliding window (0 to 1).",
    );
    let mut slow_rate = Family::new(
        "breakwater_circuit_breaker_slow_call_rate",
        "gauge",
        "Slow-call rate of the calls in the sliding window (0 to 1).",
    );
    let mut window_calls = Family::new(
        "breakwater_circuit_breaker_window_calls",
        "gauge",
        "Calls in the sliding window.",
    );
    let mut duration = Family::new(
        "breakwater_circuit_breaker_call_duration_seconds",
        "histogram",
        "Duration of recorded calls, measured on the breaker's clock.",
    );
    let bounds: Vec<String> = DURATION_BUCKETS_NANOS
        .iter()
        .map(|&b| {
            let mut s = String::new();
            write_float(&mut s, seconds(b));
            s
        })
        .collect();
    for b in list {
        let name = b.name();
        let snap = b.snapshot();
        let m = b.metrics();
        for s in State::ALL {
            state.flag(
                &[("component", name), ("state", s.as_str())],
                snap.state == s,
            );
        }
        for (outcome, n) in [
            ("success", snap.successes_total),
            ("failure", snap.failures_total),
            ("ignored", snap.ignored_total),
        ] {
            calls.int(&[("component", name), ("outcome", outcome)], n);
        }
        rejections.int(&[("component", name)], snap.rejected_total);
        slow.int(&[("component", name)], m.slow_calls_total);
        for s in State::ALL {
            transitions.int(
                &[("component", name), ("to", s.as_str())],
                m.transitions_to[s as usize],
            );
        }
        failure_rate.float(&[("component", name)], snap.failure_rate);
        slow_rate.float(&[("component", name)], snap.slow_call_rate);
        window_calls.int(&[("component", name)], snap.calls);
        let h = &m.durations;
        let mut cumulative = 0u64;
        for (i, bound) in bounds.iter().enumerate() {
            cumulative += h.counts[i];
            duration.sample(
                "_bucket",
                &[("component", name), ("le", bound)],
                Value::Int(cumulative),
            );
        }
        cumulative += h.counts[DURATION_BUCKET_COUNT - 1];
        duration.sample(
            "_bucket",
            &[("component", name), ("le", "+Inf")],
            Value::Int(cumulative),
        );
        duration.sample(
            "_sum",
            &[("component", name)],
            Value::Float(seconds(h.sum_nanos)),
        );
        duration.sample("_count", &[("component", name)], Value::Int(cumulative));
    }
    for f in [
        state,
        calls,
        rejections,
        slow,
        transitions,
        failure_rate,
        slow_rate,
        window_calls,
        duration,
    ] {
        f.write(out);
    }
}

fn policies(list: &[&Policy], out: &mut String) {
    let list = unique(list.iter().copied(), |p| p.name());
    if list.is_empty() {
        return;
    }
    let mut calls = Family::new(
        "breakwater_policy_calls_total",
        "counter",
        "Guarded calls finished, by result (value, user_error, retry_exhausted, rejected, cancelled).",
    );
    let mut attempts = Family::new(
        "breakwater_policy_attempts_total",
        "counter",
        "Attempts started by guarded calls, first attempts included.",
    );
    let mut retries = Family::new(
        "breakwater_retries_total",
        "counter",
        "Retries scheduled: attempts after the first that the retry policy asked for.",
    );
    let mut give_ups = Family::new(
        "breakwater_retry_give_ups_total",
        "counter",
        "Calls that stopped retrying, by reason.",
    );
    let mut rejections = Family::new(
        "breakwater_policy_rejections_total",
        "counter",
        "Attempts refused by the breaker, the rate limiter or the bulkhead, by reason.",
    );
    let mut fallbacks = Family::new(
        "breakwater_policy_fallbacks_total",
        "counter",
        "Calls whose error was handed to the fallback.",
    );
    for p in list {
        let name = p.name();
        let s = p.stats();
        for (i, result) in crate::policy::RESULT_NAMES.iter().enumerate() {
            calls.int(&[("component", name), ("result", result)], s.results[i]);
        }
        attempts.int(&[("component", name)], s.attempts_total);
        retries.int(&[("component", name)], s.retries_total);
        for r in GiveUpReason::ALL {
            give_ups.int(
                &[("component", name), ("reason", r.as_str())],
                s.give_ups[r as usize],
            );
        }
        for (i, reason) in crate::policy::REJECTION_NAMES.iter().enumerate() {
            rejections.int(&[("component", name), ("reason", reason)], s.rejections[i]);
        }
        fallbacks.int(&[("component", name)], s.fallbacks_total);
    }
    for f in [calls, attempts, retries, give_ups, rejections, fallbacks] {
        f.write(out);
    }
}

fn limiters(
    limiters: &[RateLimiterSample<'_>],
    bulkheads: &[BulkheadSample<'_>],
    out: &mut String,
) {
    let limiters = unique(limiters.iter(), |l| l.name);
    let bulkheads = unique(bulkheads.iter(), |b| b.name);
    let mut tokens = Family::new(
        "breakwater_rate_limiter_tokens_available",
        "gauge",
        "Whole tokens in the rate limiter's bucket.",
    );
    let mut limiter_max = Family::new(
        "breakwater_rate_limiter_max_requests",
        "gauge",
        "Requests the rate limiter admits per time window.",
    );
    let mut limiter_rejections = Family::new(
        "breakwater_rate_limiter_rejections_total",
        "counter",
        "Requests the rate limiter refused.",
    );
    for l in limiters {
        if let Some(now) = l.now {
            tokens.int(&[("component", l.name)], l.limiter.available(now));
        }
        limiter_max.int(
            &[("component", l.name)],
            l.limiter.config().max_requests as u64,
        );
        if let Some(n) = l.rejected_total {
            limiter_rejections.int(&[("component", l.name)], n);
        }
    }
    let mut in_flight = Family::new(
        "breakwater_bulkhead_in_flight",
        "gauge",
        "Calls inside the bulkhead.",
    );
    let mut queued = Family::new(
        "breakwater_bulkhead_queued",
        "gauge",
        "Calls waiting in the bulkhead's queue.",
    );
    let mut max_concurrent = Family::new(
        "breakwater_bulkhead_max_concurrent",
        "gauge",
        "Calls the bulkhead lets in at once.",
    );
    let mut bulkhead_rejections = Family::new(
        "breakwater_bulkhead_rejections_total",
        "counter",
        "Calls the bulkhead refused (full, or the wait ran out).",
    );
    for b in bulkheads {
        let (inside, waiting) = b.bulkhead.load();
        in_flight.int(&[("component", b.name)], inside as u64);
        queued.int(&[("component", b.name)], waiting as u64);
        max_concurrent.int(
            &[("component", b.name)],
            b.bulkhead.config().max_concurrent as u64,
        );
        if let Some(n) = b.rejected_total {
            bulkhead_rejections.int(&[("component", b.name)], n);
        }
    }
    for f in [
        tokens,
        limiter_max,
        limiter_rejections,
        in_flight,
        queued,
        max_concurrent,
        bulkhead_rejections,
    ] {
        f.write(out);
    }
}

fn degradations(list: &[DegradationSample<'_>], out: &mut String) {
    let list = unique(list.iter(), |d| d.component);
    let mut active = Family::new(
        "breakwater_degradation_active",
        "gauge",
        "1 while the component is degraded.",
    );
    let mut level = Family::new(
        "breakwater_degradation_level",
        "gauge",
        "Degradation level: 0 none, 1 partial, 2 significant, 3 severe, 4 critical.",
    );
    let mut triggered = Family::new(
        "breakwater_degradation_triggered_total",
        "counter",
        "Degradations triggered.",
    );
    let mut served = Family::new(
        "breakwater_degradation_served_total",
        "counter",
        "Calls a fallback strategy served.",
    );
    for d in list {
        let c = [("component", d.component)];
        active.flag(&c, d.active);
        level.int(&c, d.level as u64);
        triggered.int(&c, d.triggered_total);
        served.int(&c, d.served_total);
    }
    for f in [active, level, triggered, served] {
        f.write(out);
    }
}

fn health(registry: &HealthRegistry, out: &mut String) {
    let report = registry.snapshot();
    let mut check_status = Family::new(
        "breakwater_health_check_status",
        "gauge",
        "Health check status: 1 for the current status, 0 for the others.",
    );
    let mut failing = Family::new(
        "breakwater_health_check_failing",
        "gauge",
        "1 while the check (or the dependency) counts as failing.",
    );
    let mut consecutive = Family::new(
        "breakwater_health_check_consecutive_failures",
        "gauge",
        "Failed reports in a row.",
    );
    let mut latency = Family::new(
        "breakwater_health_check_latency_seconds",
        "gauge",
        "Latency of the check's latest report.",
    );
    let mut reports = Family::new(
        "breakwater_health_check_reports_total",
        "counter",
        "Reports received, by result (passed, failed).",
    );
    let checks = unique(report.checks.iter(), |c| &*c.name);
    for c in checks {
        let name = &*c.name;
        for s in HealthStatus::ALL {
            check_status.flag(
                &[
                    ("component", name),
                    ("kind", c.kind.as_str()),
                    ("status", s.as_str()),
                ],
                c.status == s,
            );
        }
        failing.flag(&[("component", name)], c.failing);
        if c.is_check {
            consecutive.int(&[("component", name)], c.consecutive_failures as u64);
            if let Some(last) = &c.last {
                latency.float(&[("component", name)], last.result.latency.as_secs_f64());
            }
            reports.int(
                &[("component", name), ("result", "passed")],
                c.reports_total - c.failures_total,
            );
            reports.int(
                &[("component", name), ("result", "failed")],
                c.failures_total,
            );
        }
    }
    let mut overall = Family::new(
        "breakwater_health_status",
        "gauge",
        "Aggregate health by scope (overall, liveness, readiness, startup): 1 for the current status.",
    );
    for (scope, st) in [
        ("overall", report.status),
        ("liveness", report.liveness),
        ("readiness", report.readiness),
        ("startup", report.startup),
    ] {
        for s in HealthStatus::ALL {
            overall.flag(&[("scope", scope), ("status", s.as_str())], st == s);
        }
    }
    let mut ready = Family::new(
        "breakwater_health_ready",
        "gauge",
        "1 when ready: no critical check failing and no critical dependency open.",
    );
    ready.flag(&[], report.ready);
    let mut live = Family::new(
        "breakwater_health_live",
        "gauge",
        "1 when no critical liveness check is failing.",
    );
    live.flag(&[], report.live);
    for f in [
        check_status,
        failing,
        consecutive,
        latency,
        reports,
        overall,
        ready,
        live,
    ] {
        f.write(out);
    }
}

fn slos(list: &[&Slo], out: &mut String) {
    let list = unique(list.iter().copied(), |s| s.name());
    if list.is_empty() {
        return;
    }
    let mut target = Family::new(
        "breakwater_slo_target_ratio",
        "gauge",
        "The SLO's target share of good requests (0.999 is 99.9 %).",
    );
    let mut window = Family::new(
        "breakwater_slo_window_seconds",
        "gauge",
        "The SLO's rolling window.",
    );
    let mut requests = Family::new(
        "breakwater_slo_requests",
        "gauge",
        "Requests in the SLO window, by result (good, bad).",
    );
    let mut availability = Family::new(
        "breakwater_slo_availability_ratio",
        "gauge",
        "Good requests / all requests in the window (1 with no requests).",
    );
    let mut consumed = Family::new(
        "breakwater_slo_error_budget_consumed_ratio",
        "gauge",
        "Error budget spent: bad requests / the bad requests the target allows (above 1 when overspent).",
    );
    let mut remaining = Family::new(
        "breakwater_slo_error_budget_remaining_ratio",
        "gauge",
        "Error budget left: 1 - consumed, floored at 0.",
    );
    let mut burn = Family::new(
        "breakwater_slo_burn_rate",
        "gauge",
        "Failure share over the burn-rate look-back / (1 - target); 1 spends the budget exactly over the window.",
    );
    let mut recommendation = Family::new(
        "breakwater_slo_recommendation",
        "gauge",
        "Error-budget recommendation level (healthy, moderate, critical, exhausted): 1 for the current level.",
    );
    for s in list {
        let st = s.status();
        let c = [("component", s.name())];
        target.float(&c, st.target);
        window.float(&c, st.window.as_secs_f64());
        requests.int(&[("component", s.name()), ("result", "good")], st.good);
        requests.int(&[("component", s.name()), ("result", "bad")], st.bad);
        availability.float(&c, st.availability);
        consumed.float(&c, st.error_budget_consumed);
        remaining.float(&c, st.error_budget_remaining);
        burn.float(&c, st.burn_rate);
        for r in Recommendation::ALL {
            recommendation.flag(
                &[("component", s.name()), ("level", r.as_str())],
                st.recommendation == r,
            );
        }
    }
    for f in [
        target,
        window,
        requests,
        availability,
        consumed,
        remaining,
        burn,
        recommendation,
    ] {
        f.write(out);
    }
}

fn alerts(manager: &AlertManager, out: &mut String) {
    let stats = manager.stats();
    let mut raised = Family::new(
        "breakwater_alerts_raised_total",
        "counter",
        "Alerts raised, by severity.",
    );
    let mut active = Family::new(
        "breakwater_alerts_active",
        "gauge",
        "Alerts firing now, by severity.",
    );
    for s in AlertSeverity::ALL {
        raised.int(
            &[("severity", s.as_str())],
            stats.raised_by_severity[s as usize],
        );
        active.int(
            &[("severity", s.as_str())],
            stats.active_by_severity[s as usize],
        );
    }
    let mut suppressed = Family::new(
        "breakwater_alerts_suppressed_total",
        "counter",
        "Repeats of an outage already alerted on, folded into its alert.",
    );
    suppressed.int(&[], stats.suppressed_total);
    for f in [raised, active, suppressed] {
        f.write(out);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_and_quantiles() {
        let mut h = DurationHistogram::default();
        h.record(0);
        h.record(1_000_000);
        h.record(1_000_001);
        h.record(u64::MAX);
        assert_eq!(h.counts[0], 2, "le is inclusive");
        assert_eq!(h.counts[1], 1);
        assert_eq!(h.counts[DURATION_BUCKET_COUNT - 1], 1);
        assert_eq!(h.sum_nanos, u64::MAX, "saturates");
        let mut h = DurationHistogram::default();
        for _ in 0..100 {
            h.record(40_000_000);
        }
        let p50 = h.quantile(0.5).unwrap();
        assert!(p50 > Duration::from_millis(25) && p50 <= Duration::from_millis(50));
        assert_eq!(DurationHistogram::default().quantile(0.5), None);
    }

    #[test]
    fn floats_use_go_syntax() {
        let mut s = String::new();
        for f in [0.5, 1.0, f64::INFINITY, f64::NAN, 1e-9, 2e20, 0.0] {
            write_float(&mut s, f);
            s.push(' ');
        }
        assert_eq!(s, "0.5 1 +Inf NaN 1e-9 2e20 0 ");
        let mut s = String::new();
        escape_label(&mut s, "a\"b\\c\nd");
        assert_eq!(s, "a\\\"b\\\\c\\nd");
    }
}
