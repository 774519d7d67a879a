//! Whole config documents (contract section 1, "Config files"): JSON or TOML text, sections in
//! either spelling, per-name overrides, and environment variables applied on top. Reading files
//! and the environment is the host's job; this module parses what it is handed.
//!
//! Errors name the full dotted path of the key as written
//! (`circuitBreakers.agentSpecific.architect.failureThreshold`), and every problem in the
//! document is reported together.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::breaker::BreakerConfig;
use crate::config::{ConfigError, ConfigErrors, did_you_mean};
use crate::limiter::{BulkheadConfig, RateLimiterConfig};
use crate::retry::RetryConfig;

/// One component kind's section: defaults, per-name overrides, and whether it is enabled
/// (`enabled: false` makes the component a pass-through: breakers start `disabled`).
#[derive(Debug, Clone, PartialEq)]
pub struct Section<T> {
    pub enabled: bool,
    pub defaults: T,
    /// Per-name configs, each already layered over `defaults`.
    pub per_name: BTreeMap<String, T>,
    /// Whether the document had this section at all.
    pub present: bool,
}

impl<T: Clone + Default> Default for Section<T> {
    fn default() -> Self {
        Self {
            enabled: true,
            defaults: T::default(),
            per_name: BTreeMap::new(),
            present: false,
        }
    }
}

impl<T: Clone> Section<T> {
    /// The config for `name`: its override if the document has one, else the defaults.
    pub fn config_for(&self, name: &str) -> T {
        self.per_name
            .get(name)
            .cloned()
            .unwrap_or_else(|| self.defaults.clone())
    }
}

/// The embedded monitoring server's settings (`monitoring` section).
#[derive(Debug, Clone, PartialEq)]
pub struct MonitorConfig {
    pub enabled: bool,
    pub host: String,
    pub port: u16,
    pub token: Option<String>,
    pub protect_reads: bool,
    /// Requests per second per client; `None` means unlimited.
    pub rate_limit: Option<u32>,
    /// How much event history the dashboard keeps.
    pub history: Duration,
}

impl Default for MonitorConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            host: "127.0.0.1".into(),
            port: 3001,
            token: None,
            protect_reads: false,
            rate_limit: None,
            history: Duration::from_secs(15 * 60),
        }
    }
}

/// A parsed config document.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Document {
    pub breakers: Section<BreakerConfig>,
    pub retries: Section<RetryConfig>,
    pub rate_limiters: Section<RateLimiterConfig>,
    pub bulkheads: Section<BulkheadConfig>,
    pub monitoring: MonitorConfig,
    /// Sections parsed by their own components (degradation, health, SLO), kept as written.
    pub degradation_rules: Option<Value>,
    /// The degradation manager's settings (`enabled`, `auto_recovery`, `max_history`).
    pub degradation: Option<Value>,
    pub health_checks: Option<Value>,
    pub slo: Option<Value>,
    /// The document as parsed, for components that read their own sections.
    pub raw: Value,
}

const SECTIONS: &[(&str, &[&str])] = &[
    ("breakers", &["circuitBreakers", "circuit_breakers"]),
    ("retries", &["retry", "retries"]),
    ("rate_limiters", &["rateLimiters", "rate_limiters"]),
    ("bulkheads", &["bulkheads"]),
    (
        "degradation_rules",
        &["degradationRules", "degradation_rules"],
    ),
    ("degradation", &["degradation"]),
    ("health", &["healthChecks", "health_checks"]),
    ("monitoring", &["monitoring"]),
    ("slo", &["slo"]),
];

fn prefix(errors: ConfigErrors, path: &str) -> Vec<ConfigError> {
    errors
        .0
        .into_iter()
        .map(|mut e| {
            if e.key.starts_with('(') {
                e.key = path.rsplit('.').next().unwrap_or(path).to_string();
                e.path = path.to_string();
            } else {
                e.path = format!("{path}.{}", e.path);
            }
            e
        })
        .collect()
}

/// Parses a `{defaults, agentSpecific, enabled}` section with `parse(base, value)`.
fn section<T: Clone + Default>(
    path: &str,
    value: &Value,
    parse: impl Fn(&T, &Value) -> Result<T, ConfigErrors>,
    errors: &mut Vec<ConfigError>,
) -> Section<T> {
    let mut out = Section {
        present: true,
        ..Section::default()
    };
    let Some(map) = value.as_object() else {
        errors.push(ConfigError::new(path, value.to_string(), "an object"));
        return out;
    };
    for (key, v) in map {
        let here = format!("{path}.{key}");
        match key.as_str() {
            "enabled" => match v.as_bool() {
                Some(b) => out.enabled = b,
                None => errors.push(ConfigError::at(here, key, v.to_string(), "true or false")),
            },
            "defaults" => match parse(&T::default(), v) {
                Ok(d) => out.defaults = d,
                Err(e) => errors.extend(prefix(e, &here)),
            },
            "agentSpecific" | "agent_specific" => {}
            other => {
                let hint = did_you_mean(
                    other,
                    &["enabled", "defaults", "agentSpecific", "agent_specific"],
                )
                .map_or(String::new(), |k| format!("; did you mean `{k}`?"));
                errors.push(ConfigError::at(
                    here,
                    other,
                    "(unknown key)",
                    format!("enabled, defaults, agentSpecific{hint}"),
                ));
            }
        }
    }
    if map.contains_key("agentSpecific") && map.contains_key("agent_specific") {
        errors.push(ConfigError::at(
            format!("{path}.agent_specific"),
            "agent_specific",
            "(duplicate)",
            "one spelling: agentSpecific or agent_specific",
        ));
    }
    let per_name = map
        .get("agentSpecific")
        .or_else(|| map.get("agent_specific"));
    if let Some(per_name) = per_name {
        let key = if map.contains_key("agentSpecific") {
            "agentSpecific"
        } else {
            "agent_specific"
        };
        match per_name.as_object() {
            None => errors.push(ConfigError::at(
                format!("{path}.{key}"),
                key,
                per_name.to_string(),
                "an object",
            )),
            Some(names) => {
                for (name, v) in names {
                    match parse(&out.defaults, v) {
                        Ok(c) => {
                            out.per_name.insert(name.clone(), c);
                        }
                        Err(e) => errors.extend(prefix(e, &format!("{path}.{key}.{name}"))),
                    }
                }
            }
        }
    }
    out
}

fn monitoring(path: &str, value: &Value, errors: &mut Vec<ConfigError>) -> MonitorConfig {
    let mut m = MonitorConfig::default();
    let Some(map) = value.as_object() else {
        errors.push(ConfigError::new(path, value.to_string(), "an object"));
        return m;
    };
    let mut r = crate::config::ObjectReader::new(map, path);
    if let Some(b) = r.boolean("enabled", &["enabled"]) {
        m.enabled = b;
    }
    if let Some(h) = r.string("host", &["host"], "a host name or address") {
        m.host = h;
    }
    let port = crate::config::IntRange {
        min: 0,
        max: 65_535,
    };
    if let Some(p) = r.uint("port", &["port"], port) {
        match u16::try_from(p) {
            Ok(p) => m.port = p,
            Err(_) => r.errors.push(ConfigError::new(
                format!("{path}.port"),
                p.to_string(),
                port.allowed(),
            )),
        }
    }
    if let Some(t) = r.string("token", &["token"], "a string") {
        m.token = Some(t);
    }
    if let Some(b) = r.boolean("protect_reads", &["protect_reads", "protectReads"]) {
        m.protect_reads = b;
    }
    let rl = crate::config::IntRange {
        min: 1,
        max: 1_000_000,
    };
    if let Some(n) = r.uint("rate_limit", &["rate_limit", "rateLimit"], rl) {
        if !rl.contains(n) {
            let key = if map.contains_key("rateLimit") {
                "rateLimit"
            } else {
                "rate_limit"
            };
            r.errors.push(ConfigError::new(
                format!("{path}.{key}"),
                n.to_string(),
                rl.allowed(),
            ));
        }
        m.rate_limit = Some(u32::try_from(n).unwrap_or(u32::MAX));
    }
    if let Some(d) = r.millis(
        "history",
        &["history_ms", "history"],
        "a whole number of ms",
    ) {
        m.history = d;
    }
    let known = [
        "enabled",
        "host",
        "port",
        "token",
        "protect_reads",
        "protectReads",
        "rate_limit",
        "rateLimit",
        "history_ms",
        "history",
    ];
    let (e, _) = r.finish(&known);
    // The reader spelled keys with the section in front: that is the path; the key is the rest.
    errors.extend(e.into_iter().map(|mut e| {
        e.path = e.key.clone();
        if let Some(rest) = e.key.strip_prefix(&format!("{path}.")) {
            e.key = rest.to_string();
        }
        e
    }));
    m
}

impl Document {
    /// Parses a document from a JSON value.
    pub fn from_value(value: &Value) -> Result<Document, ConfigErrors> {
        let Some(map) = value.as_object() else {
            return Err(ConfigError::new("(document)", value.to_string(), "an object").into());
        };
        let mut doc = Document {
            raw: value.clone(),
            ..Document::default()
        };
        let mut errors = Vec::new();
        let known: Vec<&str> = SECTIONS
            .iter()
            .flat_map(|(_, names)| names.iter().copied())
            .collect();
        let mut seen: Vec<&str> = Vec::new();
        for (key, v) in map {
            let Some((section, _)) = SECTIONS
                .iter()
                .find(|(_, names)| names.contains(&key.as_str()))
            else {
                let hint = did_you_mean(key, &known)
                    .map_or(String::new(), |k| format!("; did you mean `{k}`?"));
                errors.push(ConfigError::new(
                    key.clone(),
                    "(unknown section)",
                    format!("a documented section{hint}"),
                ));
                continue;
            };
            if seen.contains(section) {
                errors.push(ConfigError::new(
                    key.clone(),
                    "(duplicate)",
                    "one spelling of each section",
                ));
                continue;
            }
            seen.push(section);
            match *section {
                "breakers" => {
                    doc.breakers = section_of(key, v, BreakerConfig::from_json_over, &mut errors)
                }
                "retries" => {
                    doc.retries = section_of(key, v, RetryConfig::from_json_over, &mut errors)
                }
                "rate_limiters" => {
                    doc.rate_limiters =
                        section_of(key, v, RateLimiterConfig::from_json_over, &mut errors)
                }
                "bulkheads" => {
                    doc.bulkheads = section_of(key, v, BulkheadConfig::from_json_over, &mut errors)
                }
                "monitoring" => doc.monitoring = monitoring(key, v, &mut errors),
                "degradation_rules" => doc.degradation_rules = Some(v.clone()),
                "degradation" => doc.degradation = Some(v.clone()),
                "health" => doc.health_checks = Some(v.clone()),
                "slo" => doc.slo = Some(v.clone()),
                _ => unreachable!("every section is handled"),
            }
        }
        if errors.is_empty() {
            Ok(doc)
        } else {
            Err(ConfigErrors(errors))
        }
    }

    /// Parses JSON text.
    pub fn from_json_str(text: &str) -> Result<Document, ConfigErrors> {
        let value: Value = serde_json::from_str(text).map_err(|e| {
            ConfigError::new("(document)", format!("invalid JSON: {e}"), "a JSON object")
        })?;
        Self::from_value(&value)
    }

    /// Parses TOML text.
    pub fn from_toml_str(text: &str) -> Result<Document, ConfigErrors> {
        let value: Value = toml::from_str(text).map_err(|e| {
            ConfigError::new(
                "(document)",
                format!("invalid TOML: {e}"),
                "a TOML document",
            )
        })?;
        Self::from_value(&value)
    }

    /// Parses text as TOML when `path_hint` ends in `.toml`, else as JSON.
    pub fn from_text(text: &str, path_hint: &str) -> Result<Document, ConfigErrors> {
        if path_hint.ends_with(".toml") {
            Self::from_toml_str(text)
        } else {
            Self::from_json_str(text)
        }
    }
}

/// A section that is either `{defaults, agentSpecific, enabled}` or, for convenience, a flat
/// object of defaults.
fn section_of<T: Clone + Default>(
    path: &str,
    value: &Value,
    parse: impl Fn(&T, &Value) -> Result<T, ConfigErrors>,
    errors: &mut Vec<ConfigError>,
) -> Section<T> {
    // Structured as soon as it has `defaults` or per-name overrides; then any other key
    // (a typo such as `agentSpecifc`) is reported as unknown, with a hint.
    let structured = value.as_object().is_some_and(|m| {
        m.is_empty()
            || m.keys()
                .any(|k| matches!(k.as_str(), "defaults" | "agentSpecific" | "agent_specific"))
    });
    if structured {
        return section(path, value, parse, errors);
    }
    // Flat: every key but `enabled` is a default.
    let mut flat = value.as_object().cloned().unwrap_or_default();
    let enabled = flat.remove("enabled");
    let mut wrapped = Map::new();
    wrapped.insert("defaults".into(), Value::Object(flat));
    if let Some(e) = enabled {
        wrapped.insert("enabled".into(), e);
    }
    let before = errors.len();
    let mut out = section(path, &Value::Object(wrapped), parse, errors);
    for e in errors.iter_mut().skip(before) {
        e.path = e.path.replacen(&format!("{path}.defaults"), path, 1);
    }
    out.present = true;
    out
}

/// One environment variable breakwater reads: its name, where it lands in the document, and
/// what it means.
#[derive(Debug, Clone, Copy)]
pub struct EnvVar {
    pub name: &'static str,
    /// Dotted path in the document (snake_case spelling).
    pub path: &'static str,
    pub kind: EnvKind,
    pub doc: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvKind {
    Bool,
    Integer,
    Number,
    Text,
}

/// Every variable, by prefix. Durations are integer milliseconds.
pub const ENV_VARS: &[EnvVar] = &[
    EnvVar {
        name: "CIRCUIT_BREAKER_ENABLED",
        path: "circuit_breakers.enabled",
        kind: EnvKind::Bool,
        doc: "false makes every breaker a pass-through (disabled)",
    },
    EnvVar {
        name: "CIRCUIT_BREAKER_FAILURE_THRESHOLD",
        path: "circuit_breakers.defaults.failure_threshold",
        kind: EnvKind::Integer,
        doc: "consecutive failures that open a circuit",
    },
    EnvVar {
        name: "CIRCUIT_BREAKER_FAILURE_RATE_THRESHOLD",
        path: "circuit_breakers.defaults.failure_rate_threshold",
        kind: EnvKind::Number,
        doc: "failure rate (0, 1] that opens a circuit",
    },
    EnvVar {
        name: "CIRCUIT_BREAKER_MINIMUM_CALLS",
        path: "circuit_breakers.defaults.minimum_calls",
        kind: EnvKind::Integer,
        doc: "calls in the window before rates count",
    },
    EnvVar {
        name: "CIRCUIT_BREAKER_TIMEOUT",
        path: "circuit_breakers.defaults.recovery_timeout_ms",
        kind: EnvKind::Integer,
        doc: "ms a circuit stays open before a probe (the seeds' name)",
    },
    EnvVar {
        name: "CIRCUIT_BREAKER_RECOVERY_TIMEOUT_MS",
        path: "circuit_breakers.defaults.recovery_timeout_ms",
        kind: EnvKind::Integer,
        doc: "ms a circuit stays open before a probe",
    },
    EnvVar {
        name: "CIRCUIT_BREAKER_HALF_OPEN_MAX_CALLS",
        path: "circuit_breakers.defaults.half_open_max_calls",
        kind: EnvKind::Integer,
        doc: "probes in flight while half-open",
    },
    EnvVar {
        name: "CIRCUIT_BREAKER_SUCCESS_THRESHOLD",
        path: "circuit_breakers.defaults.success_threshold",
        kind: EnvKind::Integer,
        doc: "probe successes that close a circuit",
    },
    EnvVar {
        name: "RETRY_MAX_ATTEMPTS",
        path: "retry.defaults.max_attempts",
        kind: EnvKind::Integer,
        doc: "attempts per call, the first included",
    },
    EnvVar {
        name: "RETRY_BASE_DELAY_MS",
        path: "retry.defaults.base_delay_ms",
        kind: EnvKind::Integer,
        doc: "first backoff, ms",
    },
    EnvVar {
        name: "RETRY_MAX_DELAY_MS",
        path: "retry.defaults.max_delay_ms",
        kind: EnvKind::Integer,
        doc: "backoff cap, ms",
    },
    EnvVar {
        name: "RETRY_JITTER",
        path: "retry.defaults.jitter",
        kind: EnvKind::Text,
        doc: "none, full, equal, decorrelated or proportional",
    },
    EnvVar {
        name: "DEGRADATION_ENABLED",
        path: "degradation.enabled",
        kind: EnvKind::Bool,
        doc: "false turns fallback strategies off",
    },
    EnvVar {
        name: "DEGRADATION_AUTO_RECOVERY",
        path: "degradation.auto_recovery",
        kind: EnvKind::Bool,
        doc: "recover automatically when a trigger clears",
    },
    EnvVar {
        name: "DEGRADATION_MAX_HISTORY",
        path: "degradation.max_history",
        kind: EnvKind::Integer,
        doc: "degradations kept in history",
    },
    EnvVar {
        name: "HEALTH_CHECK_ENABLED",
        path: "health_checks.enabled",
        kind: EnvKind::Bool,
        doc: "false stops running health checks",
    },
    EnvVar {
        name: "HEALTH_CHECK_INTERVAL",
        path: "health_checks.interval",
        kind: EnvKind::Integer,
        doc: "ms between runs of a check",
    },
    EnvVar {
        name: "HEALTH_CHECK_TIMEOUT",
        path: "health_checks.timeout",
        kind: EnvKind::Integer,
        doc: "ms a check may take",
    },
    EnvVar {
        name: "MONITORING_ENABLED",
        path: "monitoring.enabled",
        kind: EnvKind::Bool,
        doc: "false keeps the monitoring server off",
    },
    EnvVar {
        name: "MONITORING_HOST",
        path: "monitoring.host",
        kind: EnvKind::Text,
        doc: "address the monitoring server binds",
    },
    EnvVar {
        name: "MONITORING_PORT",
        path: "monitoring.port",
        kind: EnvKind::Integer,
        doc: "port of the monitoring server",
    },
    EnvVar {
        name: "MONITORING_TOKEN",
        path: "monitoring.token",
        kind: EnvKind::Text,
        doc: "bearer token the server requires for writes",
    },
];

const ENV_PREFIXES: &[&str] = &[
    "CIRCUIT_BREAKER_",
    "RETRY_",
    "DEGRADATION_",
    "HEALTH_CHECK_",
    "MONITORING_",
];

/// Applies environment variables (given by the host as name/value pairs) on top of a document
/// value, in name order. Variables with one of breakwater's prefixes that it does not know, and
/// values of the wrong type, are errors naming the variable.
pub fn apply_env<'a>(
    document: &mut Value,
    vars: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<(), ConfigErrors> {
    let mut errors = Vec::new();
    let names: Vec<&str> = ENV_VARS.iter().map(|v| v.name).collect();
    // In name order, so every host (whatever order its environment lists) reports the same.
    let mut vars: Vec<(&str, &str)> = vars.into_iter().collect();
    vars.sort_unstable();
    for (name, raw) in vars {
        if !ENV_PREFIXES.iter().any(|p| name.starts_with(p)) {
            continue;
        }
        let Some(var) = ENV_VARS.iter().find(|v| v.name == name) else {
            let hint = did_you_mean(name, &names)
                .map_or(String::new(), |k| format!("; did you mean {k}?"));
            errors.push(ConfigError::new(
                name,
                raw,
                format!("a documented variable{hint}"),
            ));
            continue;
        };
        let value = match var.kind {
            EnvKind::Bool => match raw.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => Some(Value::Bool(true)),
                "false" | "0" | "no" | "off" => Some(Value::Bool(false)),
                _ => None,
            },
            EnvKind::Integer => raw.trim().parse::<u64>().ok().map(Value::from),
            EnvKind::Number => raw
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .map(Value::from),
            EnvKind::Text => Some(Value::from(raw)),
        };
        let Some(value) = value else {
            let allowed = match var.kind {
                EnvKind::Bool => "true or false",
                EnvKind::Integer => "a non-negative integer",
                EnvKind::Number => "a number",
                EnvKind::Text => "text",
            };
            errors.push(ConfigError::new(name, raw, allowed));
            continue;
        };
        set_path(document, var.path, value);
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ConfigErrors(errors))
    }
}

/// Sets a dotted path, creating objects on the way; a section already spelled the other way
/// (`circuitBreakers` for `circuit_breakers`) is reused.
fn set_path(doc: &mut Value, path: &str, value: Value) {
    let mut parts = path.split('.').peekable();
    let mut cur = doc;
    while let Some(part) = parts.next() {
        if !cur.is_object() {
            *cur = Value::Object(Map::new());
        }
        let map = cur.as_object_mut().expect("made an object above");
        let key = spelled_key(map, part);
        if parts.peek().is_none() {
            // The variable wins over the key in any spelling (`failureThreshold`, `timeout`).
            for alias in aliases_of(path, part) {
                map.remove(alias);
            }
            map.insert(key, value);
            return;
        }
        cur = map.entry(key).or_insert_with(|| Value::Object(Map::new()));
    }
}

/// Every config-file spelling of the field `leaf` in the section `path` starts with.
fn aliases_of(path: &str, leaf: &str) -> Vec<&'static str> {
    use crate::config_keys::{Component, KEYS};
    let component = match path.split('.').next() {
        Some("circuit_breakers") => Component::Breaker,
        Some("retry") => Component::Retry,
        Some("monitoring") => Component::Monitoring,
        _ => return Vec::new(),
    };
    KEYS.iter()
        .filter(|k| k.component == component && k.file.iter().any(|f| f.key == leaf))
        .flat_map(|k| k.file.iter().map(|f| f.key))
        .collect()
}

fn spelled_key(map: &Map<String, Value>, snake: &str) -> String {
    let aliases: &[(&str, &[&str])] = &[
        ("circuit_breakers", &["circuitBreakers"]),
        ("health_checks", &["healthChecks"]),
        ("retry", &["retries"]),
    ];
    for (canon, others) in aliases {
        if *canon == snake
            && let Some(o) = others.iter().find(|o| map.contains_key(**o))
        {
            return o.to_string();
        }
    }
    snake.to_string()
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn seed_document_parses() {
        let doc = Document::from_value(&json!({
            "circuitBreakers": {
                "defaults": { "failureThreshold": 5, "timeout": 60000, "halfOpenMaxCalls": 3 },
                "agentSpecific": { "architect": { "failureThreshold": 3, "timeout": 30000 } }
            },
            "retry": { "defaults": { "max_attempts": 4 }, "agentSpecific": {} },
            "degradationRules": [],
            "healthChecks": { "enabled": true, "interval": 30000, "timeout": 5000 },
            "monitoring": { "enabled": true, "port": 3001 }
        }))
        .unwrap();
        let a = doc.breakers.config_for("architect");
        assert_eq!(a.failure_threshold, 3);
        assert_eq!(a.recovery_timeout, Duration::from_secs(30));
        assert_eq!(a.half_open_max_calls, 3, "inherited from defaults");
        assert_eq!(doc.breakers.config_for("other").failure_threshold, 5);
        assert_eq!(doc.retries.defaults.max_attempts, 4);
        assert_eq!(doc.monitoring.port, 3001);
    }

    #[test]
    fn errors_are_collected_with_full_paths() {
        let e = Document::from_value(&json!({
            "circuitBreakers": { "agentSpecific": { "x": { "failureThreshold": -1 } } },
            "retry": { "defaults": { "max_attempts": 0 } },
            "monitorng": {}
        }))
        .unwrap_err();
        let keys: Vec<&str> = e.0.iter().map(|e| e.path.as_str()).collect();
        assert!(
            e.0.iter().any(|e| e.key == "failureThreshold"),
            "keys are as written"
        );
        assert!(
            keys.contains(&"circuitBreakers.agentSpecific.x.failureThreshold"),
            "{keys:?}"
        );
        assert!(keys.contains(&"retry.defaults.max_attempts"), "{keys:?}");
        assert!(
            e.0.iter()
                .any(|e| e.key == "monitorng" && e.allowed.contains("monitoring"))
        );
    }

    #[test]
    fn toml_and_env() {
        let text = "[circuit_breakers.defaults]\nfailure_threshold = 7\n";
        let mut value: Value = toml::from_str(text).unwrap();
        apply_env(
            &mut value,
            [("CIRCUIT_BREAKER_TIMEOUT", "1500"), ("PATH", "/bin")],
        )
        .unwrap();
        let doc = Document::from_value(&value).unwrap();
        assert_eq!(doc.breakers.defaults.failure_threshold, 7);
        assert_eq!(
            doc.breakers.defaults.recovery_timeout,
            Duration::from_millis(1500)
        );
        let e = apply_env(&mut value, [("CIRCUIT_BREAKER_FAILURE_TRESHOLD", "3")]).unwrap_err();
        assert!(
            e.first()
                .allowed
                .contains("CIRCUIT_BREAKER_FAILURE_THRESHOLD")
        );
    }
}
