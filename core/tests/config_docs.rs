//! `docs/configuration.md` is rendered from `core/src/config_keys.rs`; this test fails when the
//! file differs from the rendering (`BREAKWATER_BLESS=1` rewrites it), and checks the tables
//! against the real parsers: every file spelling, default and boundary value, and every
//! environment variable.

#![cfg(not(loom))]

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use breakwater_core::Document;
use breakwater_core::config_keys::{
    Component, ENV_UNITS, KEYS, KeyDoc, Kind, Lang, SECTIONS, breaker_values, budget_values,
    bulkhead_values, monitor_values, rate_limiter_values, retry_values,
};
use breakwater_core::document::{ENV_VARS, EnvKind, apply_env};
use breakwater_core::retry::BudgetConfig;
use serde_json::{Map, Value};

const REGENERATE: &str = "BREAKWATER_BLESS=1 cargo test -p breakwater-core --test config_docs";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

// ---- rendering --------------------------------------------------------------------------------

/// A table cell: pipes escaped, no line breaks.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn code(s: &str) -> String {
    format!("`{s}`")
}

/// The unit column: one word when every language agrees, else each language's unit.
fn unit(kind: Kind, component: Component) -> String {
    let langs: Vec<Lang> = Lang::ALL
        .into_iter()
        .filter(|l| *l != Lang::File || component.file_section().is_some())
        .collect();
    let first = kind.unit(langs[0]);
    if langs.iter().all(|l| kind.unit(*l) == first) {
        return first.to_string();
    }
    langs
        .iter()
        .map(|l| format!("{}: {}", l.label(), kind.unit(*l)))
        .collect::<Vec<_>>()
        .join("; ")
}

fn file_cell(k: &KeyDoc) -> String {
    if k.file.is_empty() {
        return "(code only)".into();
    }
    k.file
        .iter()
        .map(|f| {
            if f.note.is_empty() {
                code(f.key)
            } else {
                format!("{} ({})", code(f.key), f.note)
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn c_cell(k: &KeyDoc) -> String {
    k.c.split(", ").map(code).collect::<Vec<_>>().join(", ")
}

const INTRO: &str = "\
# Configuration reference

<!-- Generated from core/src/config_keys.rs by core/tests/config_docs.rs: do not edit by hand.
     Change the tables there and run
     BREAKWATER_BLESS=1 cargo test -p breakwater-core --test config_docs -->

Every key breakwater reads, with its name in each language and in config files, its unit,
default and allowed values. The tables are data in `core/src/config_keys.rs`; a test renders
this page from them and parses every file spelling, default and boundary listed here with the
real parsers, so the page cannot drift from the code. The rules behind config documents and
registries are in [semantics/configuration.md](semantics/configuration.md) and
[semantics/registry.md](semantics/registry.md).

## Names and units

One concept has one name: snake_case in Rust, Python, C and config files, camelCase for
JavaScript options. String values (`\"full\"`, `\"half_open\"`) are snake_case everywhere.
Durations differ by language:
";

const FILES: &str = "\
## Config files

A config document is JSON or TOML. Sections may be spelled either way (but only one way per
document):
";

const FILES_AFTER: &str = "\
The component sections (`circuit_breakers`, `retry`, `rate_limiters`, `bulkheads`) have the
shape `{\"enabled\": true, \"defaults\": {...}, \"agent_specific\": {\"<name>\": {...}}}`
(`agentSpecific` is the seeds' spelling); a section with any other key is read as flat: its
keys other than `enabled` are its defaults. A named component gets the contract's defaults, then the section's `defaults`,
then its own `agent_specific` entry (any component name, not only agents), then code
arguments. `\"enabled\": false` makes that component a pass-through (breakers are `disabled`).

Keys inside a section take either spelling of the tables below: snake_case with durations as
integer milliseconds and an `_ms` suffix, or the seeds' camelCase with milliseconds and no
suffix. A key and its alias given together with different values is an error.

Every problem in a document is reported together, in the order found; each names the full
dotted key as written (`circuitBreakers.agentSpecific.architect.failureThreshold`), the value
as written and what is allowed. Unknown sections, keys and environment variables are errors
with a \"did you mean\" hint. All of them have the code `CONFIG_INVALID`.

The seeds' document loads as written:

```json
{
  \"circuitBreakers\": {
    \"defaults\": { \"failureThreshold\": 5, \"timeout\": 60000, \"halfOpenMaxCalls\": 3 },
    \"agentSpecific\": { \"architect\": { \"failureThreshold\": 3, \"timeout\": 30000 } }
  },
  \"retry\": { \"defaults\": { \"max_attempts\": 3 }, \"agentSpecific\": {} },
  \"degradationRules\": [ ],
  \"healthChecks\": { \"enabled\": true, \"interval\": 30000, \"timeout\": 5000 },
  \"monitoring\": { \"enabled\": true, \"port\": 3001 }
}
```

Loading: Python `bw.Registry.from_file(path)` / `bw.Registry.from_dict(d)`; JS
`Registry.fromFile(path)` / `Registry.fromObject(obj)`; C `bw_registry_from_file` /
`bw_registry_from_json`. Environment variables are applied on top when asked for
(`env=True`, `{ env: true }`, or a flag in C).
";

const ENV_INTRO: &str = "\
## Environment variables

Applied on top of the document when asked for, as if written at the path shown (a section
already spelled the seeds' way is reused). Durations are integer milliseconds; booleans accept
`true`/`false`, `1`/`0`, `yes`/`no`, `on`/`off`. A variable with one of the prefixes
`CIRCUIT_BREAKER_`, `RETRY_`, `DEGRADATION_`, `HEALTH_CHECK_`, `MONITORING_` that is not listed
here is an error with a \"did you mean\" hint, and so is a value of the wrong type; other
variables are ignored.

| variable | sets | unit | meaning |
|---|---|---|---|
";

fn render() -> String {
    let mut out = String::from(INTRO);
    out.push('\n');
    out.push_str("| | ");
    out.push_str(
        &Lang::ALL
            .iter()
            .map(|l| l.label())
            .collect::<Vec<_>>()
            .join(" | "),
    );
    out.push_str(" |\n|---|");
    out.push_str(&"---|".repeat(Lang::ALL.len()));
    out.push_str("\n| duration | ");
    out.push_str(
        &Lang::ALL
            .iter()
            .map(|l| cell(Kind::Duration.unit(*l)))
            .collect::<Vec<_>>()
            .join(" | "),
    );
    out.push_str(" |\n\n");

    out.push_str(FILES);
    out.push_str("\n| section | also spelled | holds |\n|---|---|---|\n");
    for s in SECTIONS {
        let others: Vec<String> = s.spellings[1..].iter().map(|x| code(x)).collect();
        let others = if others.is_empty() {
            "-".to_string()
        } else {
            others.join(", ")
        };
        writeln!(
            out,
            "| {} | {} | {} |",
            code(s.spellings[0]),
            others,
            cell(s.holds)
        )
        .unwrap();
    }
    out.push('\n');
    out.push_str(FILES_AFTER);

    for component in Component::ALL {
        write!(out, "\n## {}\n\n", component.title()).unwrap();
        match component.file_section() {
            Some(section) => {
                let per_name = section
                    .strip_suffix(".defaults")
                    .map(|s| format!(" (per name: `{s}.agent_specific.<name>`)"))
                    .unwrap_or_default();
                let prefix = if component == Component::Budget {
                    " under `budget`"
                } else {
                    ""
                };
                writeln!(out, "In config files: `{section}`{per_name}{prefix}.\n").unwrap();
            }
            None => out.push_str("Set in code only; config documents have no section for it.\n\n"),
        }
        if !component.in_c_header() {
            out.push_str(
                "The C binding does not have this component yet; the C names follow its naming \
                 rule.\n\n",
            );
        }
        out.push_str(
            "| Rust / Python | JavaScript | C | config file | unit | default | allowed | meaning |\n",
        );
        out.push_str("|---|---|---|---|---|---|---|---|\n");
        for k in KEYS.iter().filter(|k| k.component == component) {
            writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                code(k.name),
                code(k.js),
                c_cell(k),
                file_cell(k),
                cell(&unit(k.kind, component)),
                cell(k.default),
                cell(k.allowed),
                cell(k.meaning),
            )
            .unwrap();
        }
    }

    out.push('\n');
    out.push_str(ENV_INTRO);
    for v in ENV_VARS {
        let unit = ENV_UNITS
            .iter()
            .find(|(n, _, _)| *n == v.name)
            .map_or("?", |(_, u, _)| u);
        writeln!(
            out,
            "| {} | {} | {} | {} |",
            code(v.name),
            code(v.path),
            unit,
            cell(v.doc)
        )
        .unwrap();
    }
    out
}

#[test]
fn reference_is_up_to_date() {
    let path = repo_root().join("docs/configuration.md");
    let want = render();
    if std::env::var_os("BREAKWATER_BLESS").is_some_and(|v| v == "1") {
        std::fs::write(&path, &want).unwrap();
        return;
    }
    let got = std::fs::read_to_string(&path).unwrap_or_default();
    if got != want {
        let line = got
            .lines()
            .zip(want.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| got.lines().count().min(want.lines().count()));
        panic!(
            "docs/configuration.md is out of date with core/src/config_keys.rs (first difference \
             at line {}).\nRegenerate it with:\n    {REGENERATE}\nexpected: {:?}\nfound:    {:?}",
            line + 1,
            want.lines().nth(line).unwrap_or("<end of file>"),
            got.lines().nth(line).unwrap_or("<end of file>"),
        );
    }
}

// ---- checks against the parsers ---------------------------------------------------------------

/// `{"a": {"b": {"c": value}}}` for the dotted path `a.b.c`.
fn nest(path: &str, value: Value) -> Value {
    path.rsplit('.').fold(value, |inner, part| {
        let mut m = Map::new();
        m.insert(part.to_string(), inner);
        Value::Object(m)
    })
}

fn parse_json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("bad JSON in the tables: {text}: {e}"))
}

/// A one-key document: `key` (relative to the component's section) set to `value`.
fn one_key_document(component: Component, key: &str, value: Value) -> Value {
    let section = component.file_section().expect("a file section");
    nest(&format!("{section}.{key}"), value)
}

/// The component's defaults as parsed from `doc`, in canonical file spelling.
fn values(component: Component, doc: &Document) -> Map<String, Value> {
    match component {
        Component::Breaker => breaker_values(&doc.breakers.defaults),
        Component::Retry => retry_values(&doc.retries.defaults),
        Component::Budget => doc
            .retries
            .defaults
            .budget
            .as_ref()
            .map(budget_values)
            .unwrap_or_default(),
        Component::RateLimiter => rate_limiter_values(&doc.rate_limiters.defaults),
        Component::Bulkhead => bulkhead_values(&doc.bulkheads.defaults),
        Component::Monitoring => monitor_values(&doc.monitoring),
        Component::Policy | Component::Registry => unreachable!("no file section"),
    }
}

/// The canonical key in the `*_values` maps.
fn canonical(k: &KeyDoc) -> &'static str {
    let key = k.file[0].key;
    key.strip_prefix("budget.").unwrap_or(key)
}

fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

fn file_keys() -> impl Iterator<Item = &'static KeyDoc> {
    KEYS.iter().filter(|k| !k.file.is_empty())
}

#[test]
fn every_file_spelling_is_accepted_and_means_the_same() {
    let mut problems = Vec::new();
    for k in file_keys() {
        let mut parsed: Vec<(&str, Map<String, Value>)> = Vec::new();
        for f in k.file {
            let doc = one_key_document(k.component, f.key, parse_json(f.example));
            match Document::from_value(&doc) {
                Ok(d) => parsed.push((f.key, values(k.component, &d))),
                Err(e) => problems.push(format!("{doc} is rejected: {e}")),
            }
        }
        let defaults = values(k.component, &Document::default());
        for (key, v) in &parsed {
            if !same(
                &Value::Object(v.clone()),
                &Value::Object(parsed[0].1.clone()),
            ) {
                problems.push(format!(
                    "{}: `{key}` and `{}` parse to different configs",
                    k.name, parsed[0].0
                ));
            }
            if k.component != Component::Budget
                && same(&Value::Object(v.clone()), &Value::Object(defaults.clone()))
            {
                problems.push(format!(
                    "{}: `{key}` with its example changes nothing (pick an example that differs from the default)",
                    k.name
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn defaults_match_the_code() {
    let empty = Document::from_value(&Value::Object(Map::new())).unwrap();
    let mut problems = Vec::new();
    let mut missing = Vec::new();
    for k in KEYS {
        if k.default_file.is_empty() {
            assert!(
                k.file.is_empty(),
                "{}: a key in config files needs default_file",
                k.name
            );
            continue;
        }
        let got = match k.component {
            Component::Budget => budget_values(&BudgetConfig::default()),
            c => values(c, &empty),
        };
        let want = parse_json(k.default_file);
        match got.get(canonical(k)) {
            None => missing.push(k.name),
            Some(g) if !same(g, &want) => problems.push(format!(
                "{}: the table says default {want}, the code has {g}",
                k.name
            )),
            Some(_) => {}
        }
    }
    assert!(missing.is_empty(), "keys the values maps lack: {missing:?}");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Every field of the values maps has a row, and every row a field.
#[test]
fn every_field_has_a_row() {
    let empty = Document::from_value(&Value::Object(Map::new())).unwrap();
    for component in Component::ALL {
        if component.file_section().is_none() {
            continue;
        }
        let fields: Vec<String> = match component {
            Component::Budget => budget_values(&BudgetConfig::default()),
            c => values(c, &empty),
        }
        .keys()
        .cloned()
        .collect();
        let mut rows: Vec<String> = KEYS
            .iter()
            .filter(|k| k.component == component)
            .map(|k| canonical(k).to_string())
            .collect();
        rows.sort();
        let mut fields = fields;
        fields.sort();
        assert_eq!(rows, fields, "{}: rows vs fields", component.title());
    }
}

#[test]
fn boundaries_match_the_code() {
    let mut problems = Vec::new();
    for k in file_keys() {
        let key = k.file[0].key;
        for (values, want_ok) in [(k.accepts, true), (k.rejects, false)] {
            for v in values {
                let doc = one_key_document(k.component, key, parse_json(v));
                let got = Document::from_value(&doc);
                if got.is_ok() != want_ok {
                    problems.push(format!(
                        "{doc}: expected {}, got {:?}",
                        if want_ok { "accepted" } else { "rejected" },
                        got.err().map(|e| e.to_string())
                    ));
                }
            }
        }
        if k.accepts.is_empty() || k.rejects.is_empty() {
            problems.push(format!("{}: list accepted and rejected values", k.name));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

fn camel(snake: &str) -> String {
    let mut out = String::new();
    let mut up = false;
    for c in snake.chars() {
        if c == '_' {
            up = true;
        } else if up {
            out.push(c.to_ascii_uppercase());
            up = false;
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn names_follow_the_casing_rules() {
    for k in KEYS {
        assert_eq!(
            k.js,
            camel(k.name),
            "{}: the JS name is the camelCase one",
            k.name
        );
        assert!(
            k.name.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
            "{}: snake_case",
            k.name
        );
        for c in k.c.split(", ") {
            let prefix = k.component.c_prefix();
            assert!(
                c.starts_with(prefix),
                "{}: C name {c} starts {prefix}",
                k.name
            );
            // A setter shared by several keys (the budget's) takes each as an argument.
            let shared = KEYS.iter().filter(|o| o.c == k.c).count() > 1;
            if k.kind == Kind::Duration && !shared {
                assert!(c.ends_with("_ms"), "{}: C duration {c} ends in _ms", k.name);
            }
        }
        if let Some(f) = k.file.first() {
            let leaf = f.key.rsplit('.').next().unwrap();
            let want = if k.kind == Kind::Duration {
                format!("{}_ms", k.name)
            } else {
                k.name.to_string()
            };
            assert_eq!(
                leaf, want,
                "{}: the first file spelling is the canonical one",
                k.name
            );
        }
    }
}

/// The C names of components the C binding has are in its header.
#[test]
fn c_names_are_in_the_c_header() {
    let header = repo_root().join("bindings-c/include/breakwater.h");
    let Ok(text) = std::fs::read_to_string(&header) else {
        return; // the C binding is not part of this checkout
    };
    let mut missing = Vec::new();
    for k in KEYS.iter().filter(|k| k.component.in_c_header()) {
        for c in k.c.split(", ") {
            let found = match c.split_once('.') {
                // An options-struct field: the struct and the field.
                Some((strukt, field)) => {
                    text.contains(&format!("typedef struct {strukt} {{"))
                        && text.contains(&format!(" {field};"))
                }
                None => text.contains(&format!("{c}(")),
            };
            if !found {
                missing.push(c);
            }
        }
    }
    assert!(
        missing.is_empty(),
        "C names in core/src/config_keys.rs that bindings-c/include/breakwater.h lacks: {missing:?}"
    );
}

#[test]
fn sections_are_accepted_in_every_spelling() {
    for s in SECTIONS {
        for spelling in s.spellings {
            let doc = nest(spelling, parse_json(s.empty));
            Document::from_value(&doc).unwrap_or_else(|e| panic!("{doc}: {e}"));
        }
    }
    // Two spellings of one section in one document are an error.
    for s in SECTIONS.iter().filter(|s| s.spellings.len() > 1) {
        let mut m = Map::new();
        for spelling in s.spellings {
            m.insert(spelling.to_string(), parse_json(s.empty));
        }
        assert!(Document::from_value(&Value::Object(m)).is_err());
    }
}

#[test]
fn environment_variables_are_documented_and_land_where_they_say() {
    let documented: Vec<&str> = ENV_UNITS.iter().map(|(n, _, _)| *n).collect();
    let real: Vec<&str> = ENV_VARS.iter().map(|v| v.name).collect();
    assert_eq!(documented, real, "ENV_UNITS lists ENV_VARS, in order");
    for (var, (_, unit, example)) in ENV_VARS.iter().zip(ENV_UNITS) {
        let unit_ok = match var.kind {
            EnvKind::Bool => *unit == "boolean",
            EnvKind::Integer => ["integer", "ms"].contains(unit),
            EnvKind::Number => *unit == "number",
            EnvKind::Text => *unit == "string",
        };
        assert!(unit_ok, "{}: unit {unit} for {:?}", var.name, var.kind);
        let mut doc = Value::Object(Map::new());
        apply_env(&mut doc, [(var.name, *example)])
            .unwrap_or_else(|e| panic!("{}={example}: {e}", var.name));
        let parsed = Document::from_value(&doc)
            .unwrap_or_else(|e| panic!("{}={example} gives an invalid document: {e}", var.name));
        // Where the parser types the value, it must be the example.
        let (section, leaf) = var.path.rsplit_once('.').unwrap();
        let typed = match section {
            "circuit_breakers.defaults" => Some(breaker_values(&parsed.breakers.defaults)),
            "retry.defaults" => Some(retry_values(&parsed.retries.defaults)),
            "monitoring" => Some(monitor_values(&parsed.monitoring)),
            "circuit_breakers" => {
                assert_eq!(leaf, "enabled");
                assert_eq!(parsed.breakers.enabled.to_string(), *example);
                None
            }
            _ => None,
        };
        if let Some(values) = typed {
            let got = values
                .get(leaf)
                .unwrap_or_else(|| panic!("{}: no field {leaf}", var.name));
            let want = match var.kind {
                EnvKind::Text => Value::from(*example),
                _ => parse_json(example),
            };
            assert!(same(got, &want), "{}={example} gives {got}", var.name);
        }
        if var.name.ends_with("_MS") || *unit == "ms" {
            assert_eq!(var.kind, EnvKind::Integer, "{}: ms are integers", var.name);
        }
    }
}
