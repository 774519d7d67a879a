//! Degradation rules and the manager's settings, read from config documents exactly as the
//! Dev-Agency seed writes them:
//!
//! ```json
//! "degradationRules": [
//!   { "name": "architect-cache",
//!     "conditions": { "reasons": ["circuit_breaker_open", "timeout"], "component": "architect" },
//!     "severityThreshold": "partial", "strategy": "cached_response", "priority": 1, "enabled": true }
//! ]
//! ```

use std::sync::Arc;

use serde_json::{Map, Value};

use super::strategy::FallbackContext;
use super::{Level, Trigger, TriggerSet};
use crate::config::{ConfigError, ConfigErrors, IntRange, ObjectReader};

/// One rule: when it applies, it names the strategy to use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// `rule-<index>` when the document gives none.
    pub name: Arc<str>,
    /// `conditions.reasons`: the triggers it covers.
    pub reasons: TriggerSet,
    /// `conditions.component`: only this component (every component when `None`).
    pub component: Option<Arc<str>>,
    /// `severityThreshold`: applies when the severity is `>=` this.
    pub severity_threshold: Level,
    /// The name of a registered strategy.
    pub strategy: Arc<str>,
    /// Among rules that apply, the lowest number wins (ties: the earlier rule).
    pub priority: u32,
    pub enabled: bool,
}

pub const PRIORITY: IntRange = IntRange {
    min: 0,
    max: 1_000_000,
};
pub const MAX_HISTORY: IntRange = IntRange {
    min: 0,
    max: 1_000_000,
};

const LEVELS: &str = "one of none, partial, significant, severe, critical";
const TRIGGERS: &str = "a non-empty list of circuit_breaker_open, timeout, rate_limited, \
                        error_rate, health_check_failed, manual";

impl Rule {
    /// A rule with the defaults: any component, threshold `none`, priority 0, enabled.
    pub fn new(name: &str, reasons: TriggerSet, strategy: &str) -> Self {
        Rule {
            name: Arc::from(name),
            reasons,
            component: None,
            severity_threshold: Level::None,
            strategy: Arc::from(strategy),
            priority: 0,
            enabled: true,
        }
    }

    /// Whether the rule applies to a fallback decision (contract section 6): enabled, its
    /// reasons include the trigger, its component (if any) matches, severity `>=` threshold.
    pub fn applies(&self, ctx: &FallbackContext) -> bool {
        self.enabled
            && self.reasons.contains(ctx.trigger)
            && self
                .component
                .as_ref()
                .is_none_or(|c| **c == *ctx.component)
            && ctx.severity >= self.severity_threshold
    }

    /// Parses a `degradationRules` array; `key` is the key as the document spells it
    /// (`degradationRules`, `degradation_rules`), used in error messages
    /// (`degradationRules[0].severityThreshold`).
    pub fn list_from_json(value: &Value, key: &str) -> Result<Vec<Rule>, ConfigErrors> {
        let mut errors = Vec::new();
        let rules = read_rules(value, key, &mut errors);
        if errors.is_empty() {
            Ok(rules)
        } else {
            Err(ConfigErrors(errors))
        }
    }
}

fn read_rules(value: &Value, key: &str, errors: &mut Vec<ConfigError>) -> Vec<Rule> {
    let Some(items) = value.as_array() else {
        if !value.is_null() {
            errors.push(ConfigError::new(
                key,
                value.to_string(),
                "a list of rules ({conditions, severityThreshold, strategy, priority, enabled})",
            ));
        }
        return Vec::new();
    };
    let mut rules = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let item_key = format!("{key}[{i}]");
        if let Some(rule) = read_rule(item, &item_key, i, errors) {
            rules.push(rule);
        }
    }
    rules
}

fn missing(key: &str, field: &str, allowed: &str) -> ConfigError {
    ConfigError::new(format!("{key}.{field}"), "(missing)", allowed)
}

fn read_rule(
    value: &Value,
    key: &str,
    index: usize,
    errors: &mut Vec<ConfigError>,
) -> Option<Rule> {
    let Some(map) = value.as_object() else {
        errors.push(ConfigError::new(
            key,
            value.to_string(),
            "an object with conditions, severityThreshold, strategy, priority, enabled",
        ));
        return None;
    };
    let before = errors.len();
    let mut r = ObjectReader::new(map, key);
    let name = r.string("name", &["name"], "a string");
    let mut reasons = TriggerSet::EMPTY;
    let mut component = None;
    match r.object(&["conditions"]) {
        Some((ckey, cmap)) => {
            let (set, comp) = read_conditions(&ckey, cmap, errors);
            reasons = set;
            component = comp;
        }
        None if !map.contains_key("conditions") => {
            errors.push(missing(
                key,
                "conditions",
                "an object with reasons (and component)",
            ));
        }
        None => {}
    }
    let mut severity_threshold = Level::None;
    if let Some(s) = r.string(
        "severity_threshold",
        &["severityThreshold", "severity_threshold"],
        LEVELS,
    ) {
        match s.parse() {
            Ok(l) => severity_threshold = l,
            Err(()) => {
                let k = if map.contains_key("severityThreshold") {
                    "severityThreshold"
                } else {
                    "severity_threshold"
                };
                errors.push(ConfigError::new(
                    format!("{key}.{k}"),
                    format!("\"{s}\""),
                    LEVELS,
                ));
            }
        }
    }
    let strategy_allowed = "the name of a registered strategy";
    let strategy = r.string("strategy", &["strategy"], strategy_allowed);
    match &strategy {
        None if !map.contains_key("strategy") || map["strategy"].is_null() => {
            errors.push(missing(key, "strategy", strategy_allowed));
        }
        Some(s) if s.is_empty() => errors.push(ConfigError::new(
            format!("{key}.strategy"),
            "\"\"",
            strategy_allowed,
        )),
        _ => {}
    }
    let priority = r.uint("priority", &["priority"], PRIORITY);
    if let Some(p) = priority
        && !PRIORITY.contains(p)
    {
        errors.push(ConfigError::new(
            format!("{key}.priority"),
            p.to_string(),
            PRIORITY.allowed(),
        ));
    }
    let enabled = r.boolean("enabled", &["enabled"]);
    let (errs, _) = r.finish(&[
        "name",
        "conditions",
        "severityThreshold",
        "severity_threshold",
        "strategy",
        "priority",
        "enabled",
    ]);
    errors.extend(errs);
    if errors.len() > before {
        return None;
    }
    Some(Rule {
        name: Arc::from(name.unwrap_or_else(|| format!("rule-{index}"))),
        reasons,
        component: component.map(Arc::from),
        severity_threshold,
        strategy: Arc::from(strategy.unwrap_or_default()),
        priority: priority.map_or(0, |p| p as u32),
        enabled: enabled.unwrap_or(true),
    })
}

fn read_conditions(
    key: &str,
    map: &Map<String, Value>,
    errors: &mut Vec<ConfigError>,
) -> (TriggerSet, Option<String>) {
    let mut r = ObjectReader::new(map, key);
    let mut set = TriggerSet::EMPTY;
    match r.strings("conditions.reasons", &["reasons"], TRIGGERS) {
        Some(list) if list.is_empty() => {
            errors.push(ConfigError::new(format!("{key}.reasons"), "[]", TRIGGERS));
        }
        Some(list) => {
            for name in &list {
                match name.parse::<Trigger>() {
                    Ok(t) => set.insert(t),
                    Err(()) => errors.push(ConfigError::new(
                        format!("{key}.reasons"),
                        format!("\"{name}\""),
                        TRIGGERS,
                    )),
                }
            }
        }
        None if !map.contains_key("reasons") || map["reasons"].is_null() => {
            errors.push(missing(key, "reasons", TRIGGERS));
        }
        None => {}
    }
    let component = r.string("conditions.component", &["component"], "a component name");
    let (errs, _) = r.finish(&["reasons", "component"]);
    errors.extend(errs);
    (set, component)
}

/// The manager's settings (contract section 1: `max_history` 1000, `auto_recovery` true,
/// rules none) plus `enabled` (false: the manager chooses nothing and records nothing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DegradationConfig {
    pub enabled: bool,
    /// Degradations kept in the history (oldest dropped first); 0 keeps none.
    pub max_history: usize,
    /// Recover a component when its trigger clears; `false` leaves only forced recovery.
    pub auto_recovery: bool,
    pub rules: Vec<Rule>,
}

impl Default for DegradationConfig {
    fn default() -> Self {
        DegradationConfig {
            enabled: true,
            max_history: 1000,
            auto_recovery: true,
            rules: Vec::new(),
        }
    }
}

impl DegradationConfig {
    pub fn validate(&self) -> Result<(), ConfigErrors> {
        let mut errs = Vec::new();
        if !MAX_HISTORY.contains(self.max_history as u64) {
            errs.push(ConfigError::new(
                "max_history",
                self.max_history.to_string(),
                MAX_HISTORY.allowed(),
            ));
        }
        for (i, r) in self.rules.iter().enumerate() {
            if r.strategy.is_empty() {
                errs.push(ConfigError::new(
                    format!("rules[{i}].strategy"),
                    "\"\"",
                    "the name of a registered strategy",
                ));
            }
            if r.reasons.is_empty() {
                errs.push(ConfigError::new(
                    format!("rules[{i}].reasons"),
                    "[]",
                    TRIGGERS,
                ));
            }
        }
        if errs.is_empty() {
            Ok(())
        } else {
            Err(ConfigErrors(errs))
        }
    }

    /// Parses one object holding the settings and, optionally, the rules:
    /// `{"max_history": 100, "auto_recovery": false, "degradationRules": [...]}` (also
    /// `maxHistory`, `autoRecovery`, `degradation_rules`, `rules`, `enabled`).
    pub fn from_json(value: &Value) -> Result<Self, ConfigErrors> {
        Self::from_json_over(&DegradationConfig::default(), value)
    }

    /// [`Self::from_json`] layered over `base`: keys left out keep `base`'s values (the
    /// rules too, unless the object has a rules key).
    pub fn from_json_over(base: &DegradationConfig, value: &Value) -> Result<Self, ConfigErrors> {
        let mut errors = Vec::new();
        let cfg = read_settings(base, value, "", true, &mut errors);
        if errors.is_empty() {
            Ok(cfg)
        } else {
            Err(ConfigErrors(errors))
        }
    }

    /// Builds the config from a document's two sections: `degradation` (settings; errors
    /// name `degradation.<key>`) and the top-level rules array, with the key as the document
    /// spells it (`degradationRules` or `degradation_rules`).
    pub fn from_sections(
        settings: Option<&Value>,
        rules: Option<(&str, &Value)>,
    ) -> Result<Self, ConfigErrors> {
        let mut errors = Vec::new();
        let mut cfg = match settings {
            Some(v) => read_settings(
                &DegradationConfig::default(),
                v,
                "degradation",
                false,
                &mut errors,
            ),
            None => DegradationConfig::default(),
        };
        if let Some((key, v)) = rules {
            cfg.rules = read_rules(v, key, &mut errors);
        }
        if errors.is_empty() {
            Ok(cfg)
        } else {
            Err(ConfigErrors(errors))
        }
    }
}

fn read_settings(
    base: &DegradationConfig,
    value: &Value,
    prefix: &str,
    with_rules: bool,
    errors: &mut Vec<ConfigError>,
) -> DegradationConfig {
    let mut cfg = base.clone();
    let Some(map) = value.as_object() else {
        let key = if prefix.is_empty() {
            "(degradation config)"
        } else {
            prefix
        };
        errors.push(ConfigError::new(key, value.to_string(), "an object"));
        return cfg;
    };
    let mut r = ObjectReader::new(map, prefix);
    if let Some(b) = r.boolean("enabled", &["enabled"]) {
        cfg.enabled = b;
    }
    if let Some(n) = r.uint("max_history", &["max_history", "maxHistory"], MAX_HISTORY) {
        if MAX_HISTORY.contains(n) {
            cfg.max_history = n as usize;
        } else {
            let k = if map.contains_key("max_history") {
                "max_history"
            } else {
                "maxHistory"
            };
            let key = if prefix.is_empty() {
                k.to_string()
            } else {
                format!("{prefix}.{k}")
            };
            errors.push(ConfigError::new(key, n.to_string(), MAX_HISTORY.allowed()));
        }
    }
    if let Some(b) = r.boolean("auto_recovery", &["auto_recovery", "autoRecovery"]) {
        cfg.auto_recovery = b;
    }
    let mut known = vec![
        "enabled",
        "max_history",
        "maxHistory",
        "auto_recovery",
        "autoRecovery",
    ];
    if with_rules {
        known.extend(["degradationRules", "degradation_rules", "rules"]);
        let present: Vec<&str> = ["degradationRules", "degradation_rules", "rules"]
            .into_iter()
            .filter(|k| map.contains_key(*k))
            .collect();
        if let Some(first) = present.first() {
            let key = if prefix.is_empty() {
                first.to_string()
            } else {
                format!("{prefix}.{first}")
            };
            cfg.rules = read_rules(&map[*first], &key, errors);
            if let Some(second) = present.get(1)
                && map[*second] != map[*first]
            {
                errors.push(ConfigError::new(
                    *second,
                    map[*second].to_string(),
                    format!("the same value as {first} (they are aliases)"),
                ));
            }
        }
    }
    let (errs, _) = r.finish(&known);
    // The rules keys were read directly, not through the reader: drop their unknown-key errors.
    errors.extend(errs.into_iter().filter(|e| {
        !(with_rules
            && e.value == "(unknown key)"
            && ["degradationRules", "degradation_rules", "rules"]
                .iter()
                .any(|k| e.key == *k || e.key.ends_with(&format!(".{k}"))))
    }));
    cfg
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn seed_rules_parse() {
        let doc = json!([
            {"name": "cache-first", "conditions": {"reasons": ["circuit_breaker_open", "timeout"],
             "component": "architect"}, "severityThreshold": "partial",
             "strategy": "cached_response", "priority": 1, "enabled": true},
            {"conditions": {"reasons": ["error_rate"]}, "strategy": "offline"}
        ]);
        let rules = Rule::list_from_json(&doc, "degradationRules").unwrap();
        assert_eq!(rules.len(), 2);
        assert_eq!(&*rules[0].name, "cache-first");
        assert!(rules[0].reasons.contains(Trigger::Timeout));
        assert_eq!(rules[0].component.as_deref(), Some("architect"));
        assert_eq!(rules[0].severity_threshold, Level::Partial);
        assert_eq!(&*rules[1].name, "rule-1");
        assert_eq!(rules[1].priority, 0);
        assert!(rules[1].enabled);
    }

    #[test]
    fn rule_errors_name_key_value_allowed() {
        let doc = json!([
            {"conditions": {"reasons": ["timeout", "slow"]}, "severityThreshold": "high",
             "strategy": "x", "priorty": 1},
            {"conditions": {}, "strategy": "y"}
        ]);
        let e = Rule::list_from_json(&doc, "degradationRules").unwrap_err();
        let keys: Vec<_> = e.0.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "degradationRules[0].conditions.reasons",
                "degradationRules[0].severityThreshold",
                "degradationRules[0].priorty",
                "degradationRules[1].conditions.reasons",
            ]
        );
        assert_eq!(e.0[0].value, "\"slow\"");
        assert!(e.0[1].allowed.contains("significant"));
        assert!(e.0[2].allowed.contains("did you mean `priority`"));
    }

    #[test]
    fn settings_in_both_spellings() {
        let c = DegradationConfig::from_json(
            &json!({"maxHistory": 5, "autoRecovery": false, "degradation_rules": []}),
        )
        .unwrap();
        assert_eq!(c.max_history, 5);
        assert!(!c.auto_recovery);
        let e = DegradationConfig::from_sections(
            Some(&json!({"max_history": -1})),
            Some(("degradationRules", &json!({}))),
        )
        .unwrap_err();
        assert_eq!(e.0[0].key, "degradation.max_history");
        assert_eq!(e.0[1].key, "degradationRules");
        let e = DegradationConfig::from_json(&json!({"max_histroy": 1})).unwrap_err();
        assert_eq!(e.first().key, "max_histroy");
    }
}
