//! Named components: one breaker (retry policy, limiter, bulkhead) per dependency, provider,
//! model or tenant, made on first use from layered configuration: the document's defaults,
//! then its per-name overrides (`agentSpecific`), then the caller's code arguments. Everything
//! made through a registry shares its clock.
//!
//! A registry can be bounded for per-key use: at most `max_size` components of each kind,
//! idle ones dropped after `idle_ttl`, least recently used first; a breaker that is not closed
//! is never dropped (it remembers an outage).

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use parking_lot::{Mutex, RwLock};

use crate::breaker::{BreakerConfig, CircuitBreaker, State};
use crate::clock::{ClockRef, Nanos, duration_to_nanos};
use crate::config::ConfigErrors;
use crate::document::Document;
use crate::limiter::{Bulkhead, BulkheadConfig, RateLimiter, RateLimiterConfig};
use crate::policy::{Policy, PolicyParts};
use crate::retry::{RetryConfig, RetryPolicy};

/// Bounds for per-key registries. `None` means unbounded / never idle.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RegistryBounds {
    pub max_size: Option<usize>,
    pub idle_ttl: Option<Duration>,
}

#[derive(Debug)]
struct Entry<T> {
    value: Arc<T>,
    last_used: Nanos,
    /// Order of last use, to break ties between uses at the same instant.
    order: u64,
}

/// The components of one kind, by name.
#[derive(Debug)]
struct Named<T> {
    map: Mutex<HashMap<String, Entry<T>>>,
    uses: std::sync::atomic::AtomicU64,
}

impl<T> Default for Named<T> {
    fn default() -> Self {
        Self {
            map: Mutex::new(HashMap::new()),
            uses: std::sync::atomic::AtomicU64::new(0),
        }
    }
}

impl<T> Named<T> {
    fn next_order(&self) -> u64 {
        self.uses.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }

    /// Whether an entry has been idle past the bounds' ttl (and may be dropped).
    fn expired(
        e: &Entry<T>,
        now: Nanos,
        bounds: RegistryBounds,
        evictable: &impl Fn(&T) -> bool,
    ) -> bool {
        bounds.idle_ttl.is_some_and(|ttl| {
            now.saturating_sub(e.last_used) >= duration_to_nanos(ttl) && evictable(&e.value)
        })
    }

    fn get(
        &self,
        name: &str,
        now: Nanos,
        bounds: RegistryBounds,
        evictable: impl Fn(&T) -> bool,
    ) -> Option<Arc<T>> {
        let mut map = self.map.lock();
        if map
            .get(name)
            .is_some_and(|e| Self::expired(e, now, bounds, &evictable))
        {
            map.remove(name);
            return None;
        }
        let order = self.next_order();
        map.get_mut(name).map(|e| {
            e.last_used = now;
            e.order = order;
            e.value.clone()
        })
    }

    /// Returns the existing component or inserts the one `make` builds, evicting per `bounds`
    /// (only entries `evictable` allows).
    fn get_or_try_insert(
        &self,
        name: &str,
        now: Nanos,
        bounds: RegistryBounds,
        evictable: impl Fn(&T) -> bool,
        make: impl FnOnce() -> Result<T, ConfigErrors>,
    ) -> Result<Arc<T>, ConfigErrors> {
        let mut map = self.map.lock();
        let order = self.next_order();
        if let Some(e) = map.get_mut(name)
            && !Self::expired(e, now, bounds, &evictable)
        {
            e.last_used = now;
            e.order = order;
            return Ok(e.value.clone());
        }
        let value = Arc::new(make()?);
        map.retain(|_, e| !Self::expired(e, now, bounds, &evictable));
        if let Some(max) = bounds.max_size {
            while map.len() >= max {
                let victim = map
                    .iter()
                    .filter(|(_, e)| evictable(&e.value))
                    .min_by_key(|(_, e)| (e.last_used, e.order))
                    .map(|(k, _)| k.clone());
                match victim {
                    Some(k) => {
                        map.remove(&k);
                    }
                    None => break, // everything left is busy remembering an outage
                }
            }
        }
        map.insert(
            name.to_string(),
            Entry {
                value: value.clone(),
                last_used: now,
                order,
            },
        );
        Ok(value)
    }

    fn names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.map.lock().keys().cloned().collect();
        v.sort();
        v
    }

    fn values(&self) -> Vec<Arc<T>> {
        self.map.lock().values().map(|e| e.value.clone()).collect()
    }

    /// Every component with its name, sorted by name, without marking any as used.
    fn entries(&self) -> Vec<(String, Arc<T>)> {
        let mut v: Vec<(String, Arc<T>)> = self
            .map
            .lock()
            .iter()
            .map(|(k, e)| (k.clone(), e.value.clone()))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    fn remove(&self, name: &str) -> bool {
        self.map.lock().remove(name).is_some()
    }
}

/// A set of named components built from one config document on one clock.
#[derive(Debug)]
pub struct Registry {
    clock: ClockRef,
    document: RwLock<Arc<Document>>,
    bounds: RegistryBounds,
    /// Seeds retry policies whose config has no `seed` (the host draws it from the OS).
    entropy: u64,
    breakers: Named<CircuitBreaker>,
    retries: Named<RetryPolicy>,
    limiters: Named<RateLimiter>,
    bulkheads: Named<Bulkhead>,
}

fn breaker_evictable(b: &CircuitBreaker) -> bool {
    matches!(
        b.state(),
        State::Closed | State::Disabled | State::MetricsOnly
    )
}

impl Registry {
    pub fn new(document: Document, clock: ClockRef, bounds: RegistryBounds, entropy: u64) -> Self {
        Self {
            clock,
            document: RwLock::new(Arc::new(document)),
            bounds,
            entropy,
            breakers: Named::default(),
            retries: Named::default(),
            limiters: Named::default(),
            bulkheads: Named::default(),
        }
    }

    pub fn clock(&self) -> &ClockRef {
        &self.clock
    }

    pub fn bounds(&self) -> RegistryBounds {
        self.bounds
    }

    pub fn document(&self) -> Arc<Document> {
        self.document.read().clone()
    }

    /// The layered config a breaker named `name` gets before code arguments.
    pub fn breaker_config(&self, name: &str) -> BreakerConfig {
        self.document.read().breakers.config_for(name)
    }

    pub fn retry_config(&self, name: &str) -> RetryConfig {
        self.document.read().retries.config_for(name)
    }

    /// The breaker named `name`, made from the document's config on first use.
    pub fn breaker(&self, name: &str) -> Result<Arc<CircuitBreaker>, ConfigErrors> {
        self.breaker_with(name, Ok)
    }

    /// The breaker named `name`; on first use `overrides` adjusts the layered config (the
    /// caller's code arguments). An existing breaker is returned as it is.
    pub fn breaker_with(
        &self,
        name: &str,
        overrides: impl FnOnce(BreakerConfig) -> Result<BreakerConfig, ConfigErrors>,
    ) -> Result<Arc<CircuitBreaker>, ConfigErrors> {
        let now = self.clock.now();
        self.breakers
            .get_or_try_insert(name, now, self.bounds, breaker_evictable, || {
                let doc = self.document.read();
                let config = overrides(doc.breakers.config_for(name))?;
                let b = CircuitBreaker::new(name, config, self.clock.clone())?;
                if !doc.breakers.enabled {
                    b.disable();
                }
                Ok(b)
            })
    }

    /// An existing breaker, without making one.
    pub fn get_breaker(&self, name: &str) -> Option<Arc<CircuitBreaker>> {
        self.breakers
            .get(name, self.clock.now(), self.bounds, breaker_evictable)
    }

    pub fn breaker_names(&self) -> Vec<String> {
        self.breakers.names()
    }

    pub fn breakers(&self) -> Vec<Arc<CircuitBreaker>> {
        self.breakers.values()
    }

    pub fn remove_breaker(&self, name: &str) -> bool {
        self.breakers.remove(name)
    }

    /// The retry policy named `name`, made from the document's config on first use.
    pub fn retry(&self, name: &str) -> Result<Arc<RetryPolicy>, ConfigErrors> {
        self.retry_with(name, Ok)
    }

    pub fn retry_with(
        &self,
        name: &str,
        overrides: impl FnOnce(RetryConfig) -> Result<RetryConfig, ConfigErrors>,
    ) -> Result<Arc<RetryPolicy>, ConfigErrors> {
        let now = self.clock.now();
        let entropy = self.entropy ^ fnv1a(name);
        self.retries.get_or_try_insert(
            name,
            now,
            self.bounds,
            |_| true,
            || {
                let doc = self.document.read();
                let policy =
                    RetryPolicy::new(overrides(doc.retries.config_for(name))?, entropy, None)?;
                Ok(if doc.retries.enabled {
                    policy
                } else {
                    policy.pass_through()
                })
            },
        )
    }

    /// The rate limiter named `name`, if the document configures one for it (or `overrides`
    /// makes one from the defaults).
    pub fn rate_limiter_with(
        &self,
        name: &str,
        overrides: impl FnOnce(RateLimiterConfig) -> Result<RateLimiterConfig, ConfigErrors>,
    ) -> Result<Arc<RateLimiter>, ConfigErrors> {
        let now = self.clock.now();
        self.limiters.get_or_try_insert(
            name,
            now,
            self.bounds,
            |_| true,
            || {
                let doc = self.document.read();
                let limiter =
                    RateLimiter::new(overrides(doc.rate_limiters.config_for(name))?, now)?;
                Ok(if doc.rate_limiters.enabled {
                    limiter
                } else {
                    limiter.pass_through()
                })
            },
        )
    }

    pub fn bulkhead_with(
        &self,
        name: &str,
        overrides: impl FnOnce(BulkheadConfig) -> Result<BulkheadConfig, ConfigErrors>,
    ) -> Result<Arc<Bulkhead>, ConfigErrors> {
        let now = self.clock.now();
        self.bulkheads.get_or_try_insert(
            name,
            now,
            self.bounds,
            |b| b.load() == (0, 0),
            || {
                let doc = self.document.read();
                let bulkhead = Bulkhead::new(overrides(doc.bulkheads.config_for(name))?)?;
                Ok(if doc.bulkheads.enabled {
                    bulkhead
                } else {
                    bulkhead.pass_through()
                })
            },
        )
    }

    pub fn limiters(&self) -> Vec<Arc<RateLimiter>> {
        self.limiters.values()
    }

    pub fn bulkheads(&self) -> Vec<Arc<Bulkhead>> {
        self.bulkheads.values()
    }

    /// The names of the retry policies the registry holds, sorted.
    pub fn retry_names(&self) -> Vec<String> {
        self.retries.names()
    }

    /// The rate limiters the registry holds, with their names, sorted by name (a read: no
    /// limiter is marked as used). For exposition, where each needs its component name.
    pub fn rate_limiters_named(&self) -> Vec<(String, Arc<RateLimiter>)> {
        self.limiters.entries()
    }

    /// The bulkheads the registry holds, with their names, sorted by name (a read).
    pub fn bulkheads_named(&self) -> Vec<(String, Arc<Bulkhead>)> {
        self.bulkheads.entries()
    }

    /// A policy for `name`: its breaker and retry policy, plus a rate limiter and a bulkhead
    /// when the document configures them for this name (or has those sections).
    pub fn policy(&self, name: &str) -> Result<Policy, ConfigErrors> {
        let doc = self.document();
        let rate_limiter = (doc.rate_limiters.present && doc.rate_limiters.enabled)
            .then(|| self.rate_limiter_with(name, Ok))
            .transpose()?;
        let bulkhead = (doc.bulkheads.present && doc.bulkheads.enabled)
            .then(|| self.bulkhead_with(name, Ok))
            .transpose()?;
        let retry = doc.retries.enabled.then(|| self.retry(name)).transpose()?;
        let parts = PolicyParts {
            breaker: Some(self.breaker(name)?),
            retry,
            rate_limiter,
            bulkhead,
            clock: Some(self.clock.clone()),
            ..PolicyParts::default()
        };
        Policy::new(name, parts)
    }

    /// Applies a new document to every existing component, keeping breaker state (a change of
    /// window kind or size starts a fresh window). Retry policies, limiters and bulkheads are
    /// rebuilt on next use. Nothing changes when the document is invalid for any component.
    pub fn reload(&self, document: Document) -> Result<(), ConfigErrors> {
        let breakers: Vec<(String, Arc<CircuitBreaker>)> = self
            .breakers
            .map
            .lock()
            .iter()
            .map(|(k, e)| (k.clone(), e.value.clone()))
            .collect();
        let mut errors = Vec::new();
        for (name, _) in &breakers {
            if let Err(e) = document.breakers.config_for(name).validate() {
                errors.extend(e.0.into_iter().map(|mut x| {
                    x.path = format!("circuit_breakers.agent_specific.{name}.{}", x.path);
                    x
                }));
            }
        }
        if !errors.is_empty() {
            return Err(ConfigErrors(errors));
        }
        let was_enabled = self.document.read().breakers.enabled;
        for (name, b) in &breakers {
            b.configure(document.breakers.config_for(name))?;
            if !document.breakers.enabled {
                b.disable();
            } else if !was_enabled && b.state() == State::Disabled {
                b.force_close(); // the section was switched back on
            }
        }
        self.retries.map.lock().clear();
        self.limiters.map.lock().clear();
        self.bulkheads
            .map
            .lock()
            .retain(|_, e| e.value.load() != (0, 0));
        *self.document.write() = Arc::new(document);
        Ok(())
    }
}

/// A stable per-name perturbation of the registry's entropy, so two names' retry streams differ.
fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    })
}

static DEFAULT: OnceLock<Registry> = OnceLock::new();

/// The process-wide registry: system clock, no document until one is loaded with `reload`.
/// `entropy` seeds unseeded retry policies; only the first caller's value is used.
pub fn default_registry(entropy: u64) -> &'static Registry {
    DEFAULT.get_or_init(|| {
        Registry::new(
            Document::default(),
            ClockRef::system(),
            RegistryBounds::default(),
            entropy,
        )
    })
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::breaker::Outcome;
    use crate::category::Category;
    use crate::clock::ManualClock;
    use serde_json::json;

    fn registry(doc: serde_json::Value, bounds: RegistryBounds) -> (Arc<ManualClock>, Registry) {
        let clock = Arc::new(ManualClock::new());
        let doc = Document::from_value(&doc).unwrap();
        (
            clock.clone(),
            Registry::new(doc, ClockRef::Manual(clock), bounds, 1),
        )
    }

    #[test]
    fn layering_defaults_overrides_code() {
        let (_, r) = registry(
            json!({"circuitBreakers": {"defaults": {"failureThreshold": 5, "halfOpenMaxCalls": 4},
                                       "agentSpecific": {"architect": {"failureThreshold": 3}}}}),
            RegistryBounds::default(),
        );
        let a = r
            .breaker_with("architect", |mut c| {
                c.success_threshold = 7;
                Ok(c)
            })
            .unwrap();
        let c = a.config();
        assert_eq!(
            (
                c.failure_threshold,
                c.half_open_max_calls,
                c.success_threshold
            ),
            (3, 4, 7)
        );
        assert!(
            Arc::ptr_eq(&a, &r.breaker("architect").unwrap()),
            "same breaker by name"
        );
        assert_eq!(r.breaker("other").unwrap().config().failure_threshold, 5);
    }

    #[test]
    fn bounded_registry_never_evicts_an_open_breaker() {
        let (clock, r) = registry(
            json!({"circuitBreakers": {"defaults": {"failureThreshold": 1}}}),
            RegistryBounds {
                max_size: Some(2),
                idle_ttl: None,
            },
        );
        let a = r.breaker("a").unwrap();
        let p = a.try_acquire().unwrap();
        a.record(p, Outcome::Failure(Category::Server));
        clock.advance(Duration::from_millis(1));
        r.breaker("b").unwrap();
        clock.advance(Duration::from_millis(1));
        r.breaker("c").unwrap(); // evicts b (a is open)
        assert_eq!(r.breaker_names(), ["a", "c"]);
    }

    #[test]
    fn idle_entries_expire() {
        let (clock, r) = registry(
            json!({}),
            RegistryBounds {
                max_size: None,
                idle_ttl: Some(Duration::from_secs(60)),
            },
        );
        r.breaker("old").unwrap();
        clock.advance(Duration::from_secs(61));
        r.breaker("new").unwrap();
        assert_eq!(r.breaker_names(), ["new"]);
    }

    #[test]
    fn reload_keeps_state_and_disabled_sections_pass_through() {
        let (_, r) = registry(
            json!({"circuitBreakers": {"defaults": {"failureThreshold": 1}}}),
            RegistryBounds::default(),
        );
        let a = r.breaker("a").unwrap();
        let p = a.try_acquire().unwrap();
        a.record(p, Outcome::Failure(Category::Server));
        assert_eq!(a.state(), State::Open);
        r.reload(
            Document::from_value(
                &json!({"circuitBreakers": {"defaults": {"failureThreshold": 9}}}),
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(a.state(), State::Open);
        assert_eq!(a.config().failure_threshold, 9);
        r.reload(Document::from_value(&json!({"circuitBreakers": {"enabled": false}})).unwrap())
            .unwrap();
        assert_eq!(a.state(), State::Disabled);
        assert_eq!(r.breaker("fresh").unwrap().state(), State::Disabled);
    }

    #[test]
    fn disabled_sections_make_pass_through_components() {
        let (_, r) = registry(
            json!({"retry": {"enabled": false, "defaults": {"max_attempts": 5}},
                   "rateLimiters": {"enabled": false, "defaults": {"maxRequests": 1}},
                   "bulkheads": {"enabled": false, "defaults": {"maxConcurrent": 1}}}),
            RegistryBounds::default(),
        );
        let retry = r.retry("a").unwrap();
        let mut s = retry.begin(0);
        let server = crate::classify::Classification::of(Category::Server);
        assert_eq!(
            retry.decide(&mut s, &server, 0),
            crate::retry::Decision::GiveUp(crate::retry::GiveUpReason::NotRetryable)
        );
        let l = r.rate_limiter_with("a", Ok).unwrap();
        assert!((0..10).all(|_| l.try_acquire(0).is_ok()));
        let b = r.bulkhead_with("a", Ok).unwrap();
        assert!((0..10).all(|_| b.try_enter() == crate::limiter::Admission::Entered));
        assert!(r.policy("a").unwrap().parts().retry.is_none());
    }
}
