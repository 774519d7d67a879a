//! Config errors and the reader that turns config documents (JSON values, already parsed; the
//! core does no I/O) into typed configs. Every problem names the key as written, the value as
//! written and the allowed range; all problems of a document are reported together.

use std::fmt;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::error::ErrorCode;

/// One invalid config value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The key as the caller wrote it, relative to the component's config
    /// (`recovery_timeout_ms`, `failureThreshold`, `window.size`).
    pub key: String,
    /// The value as the caller wrote it, in the caller's units.
    pub value: String,
    /// What would have been accepted.
    pub allowed: String,
    /// Where the key is in a whole config document
    /// (`circuitBreakers.agentSpecific.architect.failureThreshold`); equal to `key` outside one.
    pub path: String,
}

impl ConfigError {
    pub fn new(
        key: impl Into<String>,
        value: impl Into<String>,
        allowed: impl Into<String>,
    ) -> Self {
        let key = key.into();
        Self {
            path: key.clone(),
            key,
            value: value.into(),
            allowed: allowed.into(),
        }
    }

    /// An error for `key` found at `path` in a document.
    pub fn at(
        path: impl Into<String>,
        key: impl Into<String>,
        value: impl Into<String>,
        allowed: impl Into<String>,
    ) -> Self {
        Self {
            path: path.into(),
            key: key.into(),
            value: value.into(),
            allowed: allowed.into(),
        }
    }

    pub const fn code(&self) -> ErrorCode {
        ErrorCode::ConfigInvalid
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid config: {} = {} (allowed: {})",
            self.path, self.value, self.allowed
        )
    }
}

impl std::error::Error for ConfigError {}

/// Every problem found in one config, in the order found; never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl ConfigErrors {
    pub fn first(&self) -> &ConfigError {
        &self.0[0]
    }

    pub const fn code(&self) -> ErrorCode {
        ErrorCode::ConfigInvalid
    }
}

impl From<ConfigError> for ConfigErrors {
    fn from(e: ConfigError) -> Self {
        ConfigErrors(vec![e])
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// How the caller spelled each field, so validation can name keys and values the caller's way.
/// Fields are identified by their canonical Rust name (`recovery_timeout`, `window.size`).
#[derive(Debug, Clone, Default)]
pub struct Spelling {
    entries: Vec<(&'static str, String, String)>,
}

impl Spelling {
    pub fn set(&mut self, field: &'static str, key: impl Into<String>, value: impl Into<String>) {
        self.entries.retain(|(f, _, _)| *f != field);
        self.entries.push((field, key.into(), value.into()));
    }

    /// An error for `field`, spelled as the caller wrote it, else canonically with `value`.
    pub fn error(
        &self,
        field: &'static str,
        value: impl FnOnce() -> String,
        allowed: &str,
    ) -> ConfigError {
        match self.entries.iter().find(|(f, _, _)| *f == field) {
            Some((_, key, raw)) => ConfigError::new(key.clone(), raw.clone(), allowed),
            None => ConfigError::new(field, value(), allowed),
        }
    }
}

/// An inclusive integer range with its human description.
#[derive(Debug, Clone, Copy)]
pub struct IntRange {
    pub min: u64,
    pub max: u64,
}

impl IntRange {
    pub const fn contains(&self, v: u64) -> bool {
        v >= self.min && v <= self.max
    }

    pub fn allowed(&self) -> String {
        format!("integer {}..={}", self.min, self.max)
    }
}

/// Reads one JSON object, field by field, remembering which keys it used and how each was
/// spelled; unknown keys are reported at `finish` with a "did you mean" hint.
pub struct ObjectReader<'a> {
    prefix: String,
    map: &'a Map<String, Value>,
    used: Vec<&'a str>,
    pub errors: Vec<ConfigError>,
    pub spelling: Spelling,
}

/// A number read from a document: `ms` means the caller wrote milliseconds.
impl<'a> ObjectReader<'a> {
    pub fn new(map: &'a Map<String, Value>, prefix: &str) -> Self {
        Self {
            prefix: prefix.to_string(),
            map,
            used: Vec::new(),
            errors: Vec::new(),
            spelling: Spelling::default(),
        }
    }

    fn full_key(&self, key: &str) -> String {
        if self.prefix.is_empty() {
            key.to_string()
        } else {
            format!("{}.{}", self.prefix, key)
        }
    }

    /// The first of `names` present, with its value; when several are present and
    /// `convert` maps them to different values, that is an error naming the later one.
    fn pick<T: PartialEq + Clone>(
        &mut self,
        field: &'static str,
        names: &[&'a str],
        allowed: &str,
        convert: impl Fn(&str, &Value) -> Option<T>,
    ) -> Option<T> {
        let mut chosen: Option<(String, T)> = None;
        for &name in names {
            let Some((k, v)) = self.map.get_key_value(name) else {
                continue;
            };
            self.used.push(k.as_str());
            let key = self.full_key(name);
            if v.is_null() {
                continue;
            }
            let Some(t) = convert(name, v) else {
                self.errors
                    .push(ConfigError::new(key, v.to_string(), allowed));
                return None;
            };
            match &chosen {
                None => {
                    self.spelling.set(field, key.clone(), v.to_string());
                    chosen = Some((key, t));
                }
                Some((first, prev)) if *prev != t => {
                    self.errors.push(ConfigError::new(
                        key,
                        v.to_string(),
                        format!("the same value as {first} (they are aliases)"),
                    ));
                    return None;
                }
                Some(_) => {}
            }
        }
        chosen.map(|(_, t)| t)
    }

    /// A non-negative integer; values beyond `u64` saturate (range checks come later).
    pub fn uint(&mut self, field: &'static str, names: &[&'a str], range: IntRange) -> Option<u64> {
        self.pick(field, names, &range.allowed(), |_, v| as_uint(v))
    }

    /// A number, divided by `divisor(name)` (e.g. 100 for a percentage alias).
    pub fn number(
        &mut self,
        field: &'static str,
        names: &[&'a str],
        allowed: &str,
        divisor: impl Fn(&str) -> f64,
    ) -> Option<f64> {
        self.pick(field, names, allowed, |n, v| {
            v.as_f64().filter(|x| x.is_finite()).map(|x| x / divisor(n))
        })
    }

    /// A duration written as a non-negative integer of milliseconds (any of `names`).
    pub fn millis(
        &mut self,
        field: &'static str,
        names: &[&'a str],
        allowed: &str,
    ) -> Option<Duration> {
        self.pick(field, names, allowed, |_, v| {
            as_uint(v).map(Duration::from_millis)
        })
    }

    /// A list of strings.
    pub fn strings(
        &mut self,
        field: &'static str,
        names: &[&'a str],
        allowed: &str,
    ) -> Option<Vec<String>> {
        self.pick(field, names, allowed, |_, v| {
            v.as_array()?
                .iter()
                .map(|x| x.as_str().map(str::to_string))
                .collect()
        })
    }

    pub fn boolean(&mut self, field: &'static str, names: &[&'a str]) -> Option<bool> {
        self.pick(field, names, "true or false", |_, v| v.as_bool())
    }

    pub fn string(
        &mut self,
        field: &'static str,
        names: &[&'a str],
        allowed: &str,
    ) -> Option<String> {
        self.pick(field, names, allowed, |_, v| v.as_str().map(str::to_string))
    }

    /// A nested object (any of `names`), with its full key for error messages.
    pub fn object(&mut self, names: &[&'a str]) -> Option<(String, &'a Map<String, Value>)> {
        for &name in names {
            if let Some((k, v)) = self.map.get_key_value(name) {
                self.used.push(k.as_str());
                match v {
                    Value::Object(m) => return Some((self.full_key(name), m)),
                    Value::Null => return None,
                    other => {
                        self.errors.push(ConfigError::new(
                            self.full_key(name),
                            other.to_string(),
                            "an object",
                        ));
                        return None;
                    }
                }
            }
        }
        None
    }

    /// Reports every key no field asked for, with the nearest known key as a hint.
    pub fn finish(mut self, known: &[&str]) -> (Vec<ConfigError>, Spelling) {
        for key in self.map.keys() {
            if !self.used.contains(&key.as_str()) {
                let hint = did_you_mean(key, known)
                    .map_or(String::new(), |k| format!("; did you mean `{k}`?"));
                self.errors.push(ConfigError::new(
                    self.full_key(key),
                    "(unknown key)",
                    format!("one of the documented keys{hint}"),
                ));
            }
        }
        (self.errors, self.spelling)
    }
}

fn as_uint(v: &Value) -> Option<u64> {
    if let Some(u) = v.as_u64() {
        return Some(u);
    }
    let f = v.as_f64()?;
    (f >= 0.0 && f.fract() == 0.0).then_some(if f >= u64::MAX as f64 {
        u64::MAX
    } else {
        f as u64
    })
}

/// The known key closest to `key` (edit distance, case-insensitive), if close enough.
pub fn did_you_mean<'k>(key: &str, known: &[&'k str]) -> Option<&'k str> {
    let key = key.to_ascii_lowercase();
    known
        .iter()
        .map(|k| (edit_distance(&key, &k.to_ascii_lowercase()), *k))
        .filter(|(d, k)| *d <= (k.len() / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + (ca != *cb) as usize)
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Formats a duration as whole or fractional milliseconds, for error values.
pub fn fmt_ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms.fract() == 0.0 {
        format!("{}", ms as u64)
    } else {
        format!("{ms}")
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reader_reports_types_aliases_and_unknown_keys() {
        let doc = json!({"a": 1, "b": "x", "c_ms": 100, "c": 200, "faliure": 1});
        let map = doc.as_object().unwrap();
        let mut r = ObjectReader::new(map, "sec");
        assert_eq!(r.uint("a", &["a"], IntRange { min: 0, max: 9 }), Some(1));
        assert_eq!(r.uint("b", &["b"], IntRange { min: 0, max: 9 }), None);
        assert_eq!(r.millis("c", &["c_ms", "c"], ">= 0"), None);
        let (errors, _) = r.finish(&["a", "b", "c_ms", "failure"]);
        let keys: Vec<_> = errors.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys, ["sec.b", "sec.c", "sec.faliure"]);
        assert!(errors[2].allowed.contains("did you mean `failure`"));
    }

    #[test]
    fn suggestions() {
        assert_eq!(
            did_you_mean("failureTreshold", &["failureThreshold", "timeout"]),
            Some("failureThreshold")
        );
        assert_eq!(did_you_mean("zzz", &["failureThreshold"]), None);
    }
}
