//! The response cache behind the `cached_response` strategy: per-key entries with a TTL, at
//! most `max_entries` with least-recently-used eviction, and stale-if-error (an expired entry
//! is still served when the live call fails, marked stale).
//!
//! The core owns keys, expiry and eviction; the value type is the binding's choice
//! (`ResponseCache<V, K>`): a host object handle, or an index into a host-side table (then
//! the entries a `put`, `remove`, `clear` or `purge_expired` hands back tell the host what to
//! free). Keys are strings by default, or any `K: Hash + Eq + Clone` (contract section 6 says
//! how bindings build them). Expiry is read from the cache's clock; nothing runs in the
//! background.

use std::borrow::Borrow;
use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;
use std::time::Duration;

use serde_json::Value;

use crate::clock::{ClockRef, Nanos, duration_to_nanos};
use crate::config::{ConfigError, ConfigErrors, IntRange, ObjectReader, fmt_ms};
use crate::sync::Mutex;

/// `ResponseCache(ttl=300 s, max_entries=1000, stale_if_error=true)` by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheConfig {
    /// How long an entry is fresh.
    pub ttl: Duration,
    /// Entries kept; the least recently used goes first.
    pub max_entries: usize,
    /// Serve an expired entry (marked stale) when the live call fails.
    pub stale_if_error: bool,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            ttl: Duration::from_secs(300),
            max_entries: 1000,
            stale_if_error: true,
        }
    }
}

pub const MAX_ENTRIES: IntRange = IntRange {
    min: 1,
    max: 10_000_000,
};
const TTL_ALLOWED: &str = "a duration > 0 and <= 365 days";
const MAX_TTL: Duration = Duration::from_secs(365 * 86_400);

impl CacheConfig {
    pub fn validate(&self) -> Result<(), ConfigErrors> {
        let mut errs = Vec::new();
        if self.ttl.is_zero() || self.ttl > MAX_TTL {
            errs.push(ConfigError::new("ttl", fmt_ms(self.ttl), TTL_ALLOWED));
        }
        if !MAX_ENTRIES.contains(self.max_entries as u64) {
            errs.push(ConfigError::new(
                "max_entries",
                self.max_entries.to_string(),
                MAX_ENTRIES.allowed(),
            ));
        }
        if errs.is_empty() {
            Ok(())
        } else {
            Err(ConfigErrors(errs))
        }
    }

    /// Parses a cache section: `ttl_ms`, `max_entries`, `stale_if_error`, or the camelCase
    /// `ttl` (ms), `maxEntries`, `staleIfError`.
    pub fn from_json(value: &Value) -> Result<Self, ConfigErrors> {
        Self::from_json_over(&CacheConfig::default(), value)
    }

    /// [`Self::from_json`] layered over `base`: keys left out keep `base`'s values.
    pub fn from_json_over(base: &CacheConfig, value: &Value) -> Result<Self, ConfigErrors> {
        let Some(map) = value.as_object() else {
            return Err(ConfigError::new("(cache config)", value.to_string(), "an object").into());
        };
        let mut cfg = *base;
        let mut r = ObjectReader::new(map, "");
        if let Some(d) = r.millis("ttl", &["ttl_ms", "ttl"], TTL_ALLOWED) {
            cfg.ttl = d;
        }
        if let Some(n) = r.uint("max_entries", &["max_entries", "maxEntries"], MAX_ENTRIES) {
            cfg.max_entries = usize::try_from(n).unwrap_or(usize::MAX);
        }
        if let Some(b) = r.boolean("stale_if_error", &["stale_if_error", "staleIfError"]) {
            cfg.stale_if_error = b;
        }
        let known = [
            "ttl_ms",
            "ttl",
            "max_entries",
            "maxEntries",
            "stale_if_error",
            "staleIfError",
        ];
        let (mut errors, spelling) = r.finish(&known);
        if errors.is_empty()
            && let Err(ConfigErrors(range)) = cfg.validate()
        {
            for e in range {
                let field = if e.key == "ttl" { "ttl" } else { "max_entries" };
                errors.push(spelling.error(field, || e.value.clone(), &e.allowed));
            }
        }
        if errors.is_empty() {
            Ok(cfg)
        } else {
            Err(ConfigErrors(errors))
        }
    }
}

/// Whether a served entry was within its TTL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Freshness {
    Fresh,
    /// Expired, served because the live call failed (stale-if-error).
    Stale,
}

impl Freshness {
    pub const fn as_str(self) -> &'static str {
        match self {
            Freshness::Fresh => "fresh",
            Freshness::Stale => "stale",
        }
    }
}

impl fmt::Display for Freshness {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A value served from the cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit<V> {
    pub value: V,
    pub freshness: Freshness,
}

impl<V> Hit<V> {
    pub fn is_stale(&self) -> bool {
        self.freshness == Freshness::Stale
    }
}

/// What a `put` displaced: the old value under the same key, and the least recently used
/// entry when the cache was full. A binding that keeps values in its own table frees these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutResult<K, V> {
    pub replaced: Option<V>,
    pub evicted: Option<(K, V)>,
}

/// Counters since the cache was made (or `clear`ed: entries only; counters stay).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CacheStats {
    pub entries: usize,
    /// Fresh entries served (by `get` or `on_error`).
    pub hits: u64,
    /// Expired entries served by `on_error`.
    pub stale_hits: u64,
    /// Lookups that served nothing.
    pub misses: u64,
    /// Entries dropped to make room.
    pub evictions: u64,
}

const NIL: usize = usize::MAX;

struct Slot<K, V> {
    key: K,
    value: V,
    expires: Nanos,
    prev: usize,
    next: usize,
}

/// A map plus an intrusive doubly linked list over a slab: O(1) lookup, touch and eviction.
struct Lru<K, V> {
    map: HashMap<K, usize>,
    slots: Vec<Option<Slot<K, V>>>,
    free: Vec<usize>,
    /// Least recently used.
    head: usize,
    /// Most recently used.
    tail: usize,
    stats: CacheStats,
}

impl<K: Hash + Eq + Clone, V> Lru<K, V> {
    fn new() -> Self {
        Lru {
            map: HashMap::new(),
            slots: Vec::new(),
            free: Vec::new(),
            head: NIL,
            tail: NIL,
            stats: CacheStats::default(),
        }
    }

    fn slot(&self, i: usize) -> &Slot<K, V> {
        self.slots[i].as_ref().expect("linked slot is occupied")
    }

    fn slot_mut(&mut self, i: usize) -> &mut Slot<K, V> {
        self.slots[i].as_mut().expect("linked slot is occupied")
    }

    fn unlink(&mut self, i: usize) {
        let (prev, next) = {
            let s = self.slot(i);
            (s.prev, s.next)
        };
        if prev == NIL {
            self.head = next;
        } else {
            self.slot_mut(prev).next = next;
        }
        if next == NIL {
            self.tail = prev;
        } else {
            self.slot_mut(next).prev = prev;
        }
    }

    fn push_back(&mut self, i: usize) {
        let tail = self.tail;
        {
            let s = self.slot_mut(i);
            s.prev = tail;
            s.next = NIL;
        }
        if tail == NIL {
            self.head = i;
        } else {
            self.slot_mut(tail).next = i;
        }
        self.tail = i;
    }

    fn touch(&mut self, i: usize) {
        if self.tail != i {
            self.unlink(i);
            self.push_back(i);
        }
    }

    fn take(&mut self, i: usize) -> (K, V) {
        self.unlink(i);
        let s = self.slots[i].take().expect("linked slot is occupied");
        self.map.remove(&s.key);
        self.free.push(i);
        (s.key, s.value)
    }

    fn insert(&mut self, key: K, value: V, expires: Nanos) -> usize {
        let slot = Slot {
            key: key.clone(),
            value,
            expires,
            prev: NIL,
            next: NIL,
        };
        let i = match self.free.pop() {
            Some(i) => {
                self.slots[i] = Some(slot);
                i
            }
            None => {
                self.slots.push(Some(slot));
                self.slots.len() - 1
            }
        };
        self.map.insert(key, i);
        self.push_back(i);
        i
    }
}

/// The response cache. Share it with `Arc`; every method takes `&self` and holds the lock
/// only for the map operation (never while a host callback runs).
pub struct ResponseCache<V, K = String> {
    config: Mutex<CacheConfig>,
    clock: ClockRef,
    lru: Mutex<Lru<K, V>>,
}

impl<V, K> fmt::Debug for ResponseCache<V, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseCache")
            .field("config", &*self.config.lock())
            .finish()
    }
}

impl<V, K: Hash + Eq + Clone> ResponseCache<V, K> {
    pub fn new(config: CacheConfig, clock: ClockRef) -> Result<Self, ConfigErrors> {
        config.validate()?;
        Ok(ResponseCache {
            config: Mutex::new(config),
            clock,
            lru: Mutex::new(Lru::new()),
        })
    }

    pub fn config(&self) -> CacheConfig {
        *self.config.lock()
    }

    pub fn clock(&self) -> &ClockRef {
        &self.clock
    }

    /// Applies a new config. Entries keep the expiry they were stored with; a smaller
    /// `max_entries` evicts least recently used entries now, and they are returned.
    pub fn configure(&self, config: CacheConfig) -> Result<Vec<(K, V)>, ConfigErrors> {
        config.validate()?;
        *self.config.lock() = config;
        let mut lru = self.lru.lock();
        let mut out = Vec::new();
        while lru.map.len() > config.max_entries {
            let head = lru.head;
            out.push(lru.take(head));
            lru.stats.evictions += 1;
        }
        Ok(out)
    }

    /// Stores `value` under `key` with the configured TTL, as the most recently used entry.
    pub fn put(&self, key: K, value: V) -> PutResult<K, V> {
        let ttl = self.config.lock().ttl;
        self.put_with_ttl(key, value, ttl)
    }

    /// Stores `value` under `key`, fresh for `ttl` from now.
    pub fn put_with_ttl(&self, key: K, value: V, ttl: Duration) -> PutResult<K, V> {
        let max = self.config.lock().max_entries;
        let expires = self.clock.now().saturating_add(duration_to_nanos(ttl));
        let mut lru = self.lru.lock();
        let replaced = lru.map.get(&key).copied().map(|i| lru.take(i).1);
        let evicted = if lru.map.len() >= max && lru.head != NIL {
            let head = lru.head;
            lru.stats.evictions += 1;
            Some(lru.take(head))
        } else {
            None
        };
        lru.insert(key, value, expires);
        PutResult { replaced, evicted }
    }

    /// What the entry for `key` is now, with its value when there is one. Marks it used.
    fn lookup<Q, R>(&self, key: &Q, on_error: bool, f: impl FnOnce(&V) -> R) -> Option<Hit<R>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let stale_if_error = self.config.lock().stale_if_error;
        let now = self.clock.now();
        let mut lru = self.lru.lock();
        let found = lru.map.get(key).copied();
        let freshness = match found {
            Some(i) if now < lru.slot(i).expires => Some(Freshness::Fresh),
            Some(_) if on_error && stale_if_error => Some(Freshness::Stale),
            _ => None,
        };
        match (found, freshness) {
            (Some(i), Some(freshness)) => {
                lru.touch(i);
                match freshness {
                    Freshness::Fresh => lru.stats.hits += 1,
                    Freshness::Stale => lru.stats.stale_hits += 1,
                }
                Some(Hit {
                    value: f(&lru.slot(i).value),
                    freshness,
                })
            }
            _ => {
                lru.stats.misses += 1;
                None
            }
        }
    }

    /// The fresh value for `key` (an expired entry is a miss here). Marks it used.
    pub fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        V: Clone,
    {
        self.lookup(key, false, V::clone).map(|h| h.value)
    }

    /// [`Self::get`] for values that are not `Clone`: `f` sees the value under the lock (it
    /// must not call back into this cache).
    pub fn get_with<Q, R>(&self, key: &Q, f: impl FnOnce(&V) -> R) -> Option<R>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.lookup(key, false, f).map(|h| h.value)
    }

    /// The live call failed: the fresh value, or with stale_if_error an expired one marked
    /// stale. Marks it used.
    pub fn on_error<Q>(&self, key: &Q) -> Option<Hit<V>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
        V: Clone,
    {
        self.lookup(key, true, V::clone)
    }

    /// [`Self::on_error`] for values that are not `Clone` (see [`Self::get_with`]).
    pub fn on_error_with<Q, R>(&self, key: &Q, f: impl FnOnce(&V) -> R) -> Option<Hit<R>>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.lookup(key, true, f)
    }

    /// What [`Self::on_error`] would serve now, without serving it: pure (no LRU touch, no
    /// counting). This is what a [`crate::degradation::FallbackContext`]'s `cached` is set to.
    pub fn status<Q>(&self, key: &Q) -> Option<Freshness>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let stale_if_error = self.config.lock().stale_if_error;
        let now = self.clock.now();
        let lru = self.lru.lock();
        let i = *lru.map.get(key)?;
        if now < lru.slot(i).expires {
            Some(Freshness::Fresh)
        } else if stale_if_error {
            Some(Freshness::Stale)
        } else {
            None
        }
    }

    pub fn contains<Q>(&self, key: &Q) -> bool
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.lru.lock().map.contains_key(key)
    }

    /// Removes the entry for `key`, returning its value.
    pub fn remove<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        let mut lru = self.lru.lock();
        let i = *lru.map.get(key)?;
        Some(lru.take(i).1)
    }

    /// Removes every entry (least recently used first); the counters stay.
    pub fn clear(&self) -> Vec<(K, V)> {
        let mut lru = self.lru.lock();
        let mut out = Vec::with_capacity(lru.map.len());
        while lru.head != NIL {
            let head = lru.head;
            out.push(lru.take(head));
        }
        lru.slots.clear();
        lru.free.clear();
        out
    }

    /// Removes expired entries (which only stale-if-error could still serve), least recently
    /// used first.
    pub fn purge_expired(&self) -> Vec<(K, V)> {
        let now = self.clock.now();
        let mut lru = self.lru.lock();
        let mut out = Vec::new();
        let mut i = lru.head;
        while i != NIL {
            let (next, expired) = {
                let s = lru.slot(i);
                (s.next, now >= s.expires)
            };
            if expired {
                out.push(lru.take(i));
            }
            i = next;
        }
        out
    }

    pub fn len(&self) -> usize {
        self.lru.lock().map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Keys from least to most recently used (the eviction order).
    pub fn keys(&self) -> Vec<K> {
        let lru = self.lru.lock();
        let mut out = Vec::with_capacity(lru.map.len());
        let mut i = lru.head;
        while i != NIL {
            let s = lru.slot(i);
            out.push(s.key.clone());
            i = s.next;
        }
        out
    }

    pub fn stats(&self) -> CacheStats {
        let lru = self.lru.lock();
        CacheStats {
            entries: lru.map.len(),
            ..lru.stats
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use std::sync::Arc;

    fn cache(max: usize, stale: bool) -> (Arc<ManualClock>, ResponseCache<u32>) {
        let clock = Arc::new(ManualClock::new());
        let c = ResponseCache::new(
            CacheConfig {
                ttl: Duration::from_secs(10),
                max_entries: max,
                stale_if_error: stale,
            },
            ClockRef::Manual(clock.clone()),
        )
        .unwrap();
        (clock, c)
    }

    #[test]
    fn ttl_and_stale_if_error() {
        let (clock, c) = cache(10, true);
        c.put("a".into(), 1);
        assert_eq!(c.get("a"), Some(1));
        clock.advance(Duration::from_millis(9_999));
        assert_eq!(c.status("a"), Some(Freshness::Fresh));
        clock.advance(Duration::from_millis(1));
        assert_eq!(c.get("a"), None, "expired at exactly ttl");
        assert_eq!(c.status("a"), Some(Freshness::Stale));
        let hit = c.on_error("a").unwrap();
        assert_eq!((hit.value, hit.is_stale()), (1, true));
        assert_eq!(c.purge_expired(), vec![("a".to_string(), 1)]);
        assert!(c.is_empty());
        let s = c.stats();
        assert_eq!((s.hits, s.stale_hits, s.misses), (1, 1, 1));

        let (clock, c) = cache(10, false);
        c.put("a".into(), 1);
        clock.advance(Duration::from_secs(10));
        assert_eq!(c.on_error("a"), None);
        assert_eq!(c.status("a"), None);
    }

    #[test]
    fn lru_eviction_and_replacement() {
        let (_, c) = cache(2, true);
        assert_eq!(c.put("a".into(), 1).evicted, None);
        c.put("b".into(), 2);
        assert_eq!(c.get("a"), Some(1)); // a is now the most recently used
        let r = c.put("c".into(), 3);
        assert_eq!(r.evicted, Some(("b".to_string(), 2)));
        assert_eq!(c.keys(), ["a", "c"]);
        let r = c.put("a".into(), 10);
        assert_eq!((r.replaced, r.evicted), (Some(1), None));
        assert_eq!(c.keys(), ["c", "a"]);
        assert_eq!(c.remove("c"), Some(3));
        assert_eq!(c.clear(), vec![("a".to_string(), 10)]);
        c.put("d".into(), 4);
        assert_eq!(c.keys(), ["d"]);
        assert_eq!(c.stats().evictions, 1);
    }

    #[test]
    fn config_parsing() {
        let c = CacheConfig::from_json(&serde_json::json!({"ttl": 1000, "maxEntries": 5})).unwrap();
        assert_eq!(c.ttl, Duration::from_secs(1));
        assert_eq!(c.max_entries, 5);
        let e = CacheConfig::from_json(&serde_json::json!({"max_entries": 0})).unwrap_err();
        assert_eq!(e.first().key, "max_entries");
        let e = CacheConfig::from_json(&serde_json::json!({"ttl_ms": 0})).unwrap_err();
        assert_eq!(
            (e.first().key.as_str(), e.first().value.as_str()),
            ("ttl_ms", "0")
        );
    }
}
