//! The response cache behind the `cached_response` strategy (contract sections 1 and 6): string
//! keys the caller builds, byte values copied in, a TTL, LRU eviction at `max_entries`, and
//! stale-if-error. Values come back as `bw_bytes` handles holding their own reference, so an
//! entry evicted or replaced meanwhile never invalidates what a caller holds.

#![allow(non_camel_case_types)]

use std::ffi::c_char;
use std::sync::Arc;

use breakwater_core::{CacheConfig, ConfigErrors, Freshness, ResponseCache};

use crate::breaker::{clock_of, parse_json};
use crate::clock::bw_manual_clock;
use crate::ffi::{self, Error, OptOut, Out, boundary, boundary_value};
use crate::result::bw_result;
use crate::text::{bw_bytes, bw_string_list, bytes_handle, write_list};
use crate::types::{floor_ms, ms};

/// What a lookup found: nothing, a fresh entry, or (only after a failed call, with
/// stale_if_error) an expired one. `bw_cache_lookup_name` gives "miss", "fresh", "stale".
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum bw_cache_lookup {
    BW_CACHE_MISS = 0,
    BW_CACHE_FRESH = 1,
    BW_CACHE_STALE = 2,
}

/// A `bw_cache_lookup` as C passed it.
#[repr(transparent)]
#[derive(Debug, Clone, Copy)]
pub struct CacheLookupArg(pub u32);

impl CacheLookupArg {
    pub(crate) fn get(self, arg: &'static str) -> ffi::Result<Option<Freshness>> {
        match self.0 {
            0 => Ok(None),
            1 => Ok(Some(Freshness::Fresh)),
            2 => Ok(Some(Freshness::Stale)),
            n => Err(Error::invalid(format!(
                "argument `{arg}`: {n} is not a bw_cache_lookup (0..=2)"
            ))),
        }
    }
}

pub(crate) fn lookup_to_c(f: Option<Freshness>) -> bw_cache_lookup {
    match f {
        None => bw_cache_lookup::BW_CACHE_MISS,
        Some(Freshness::Fresh) => bw_cache_lookup::BW_CACHE_FRESH,
        Some(Freshness::Stale) => bw_cache_lookup::BW_CACHE_STALE,
    }
}

/// The name of a lookup result ("miss", "fresh", "stale"); NULL for a value that is not a
/// `bw_cache_lookup`. Static; thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn bw_cache_lookup_name(lookup: CacheLookupArg) -> *const c_char {
    boundary_value("bw_cache_lookup_name", std::ptr::null(), || {
        crate::types::name_of(&[c"miss", c"fresh", c"stale"], lookup.0)
    })
}

/// A cache's settings for `bw_cache_new` / `bw_cache_configure`. Zero-initialise it and set
/// what you need; a field whose `has_` flag is false keeps the default (`bw_cache_new`: ttl
/// 300000 ms, max_entries 1000, stale_if_error true) or the live value (`bw_cache_configure`).
/// Checked together: "ttl_ms" 1..=31536000000 (365 days), "max_entries" 1..=10000000.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct bw_cache_options {
    pub has_ttl: bool,
    pub ttl_ms: u64,
    pub has_max_entries: bool,
    pub max_entries: u64,
    pub has_stale_if_error: bool,
    pub stale_if_error: bool,
}

/// A cache's settings, read back (`bw_cache_get_config`).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct bw_cache_config {
    pub ttl_ms: u64,
    pub max_entries: u64,
    pub stale_if_error: bool,
}

/// A cache's counters since it was made (`bw_cache_clear` drops entries, not counters).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct bw_cache_stats {
    /// Entries now.
    pub entries: u64,
    /// Fresh entries served (by `bw_cache_get` or `bw_cache_on_error`).
    pub hits: u64,
    /// Expired entries served by `bw_cache_on_error`.
    pub stale_hits: u64,
    /// Lookups that served nothing.
    pub misses: u64,
    /// Entries dropped to make room.
    pub evictions: u64,
}

/// What a `bw_cache_put` displaced; each handle is NULL when there was none, else yours to
/// free with `bw_bytes_free`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct bw_cache_put_info {
    /// The value the key held before.
    pub replaced: *mut bw_bytes,
    /// The key of the least recently used entry, dropped because the cache was full (its
    /// bytes are the key's UTF-8, not NUL-terminated).
    pub evicted_key: *mut bw_bytes,
    /// That entry's value.
    pub evicted_value: *mut bw_bytes,
}

type Cache = ResponseCache<Arc<[u8]>, String>;

/// A response cache: UTF-8 string keys, byte values copied in. Made by `bw_cache_new` /
/// `bw_cache_from_json`, destroyed by `bw_cache_free`. Thread-safe: one handle may be used
/// from any number of threads at once (except `_free`, which must come last); breakwater
/// holds its lock only for the map operation.
pub struct bw_cache {
    pub(crate) inner: Arc<Cache>,
}

/// The core spells the TTL `ttl`; C's options and keys say `ttl_ms`.
fn respell(mut e: ConfigErrors) -> ConfigErrors {
    for err in &mut e.0 {
        if err.key == "ttl" {
            ffi::respell_key(err, "ttl_ms");
        }
    }
    e
}

fn apply_options(base: CacheConfig, o: &bw_cache_options) -> CacheConfig {
    let mut c = base;
    if o.has_ttl {
        c.ttl = ms(o.ttl_ms);
    }
    if o.has_max_entries {
        c.max_entries = usize::try_from(o.max_entries).unwrap_or(usize::MAX);
    }
    if o.has_stale_if_error {
        c.stale_if_error = o.stale_if_error;
    }
    c
}

/// A key: UTF-8, without NUL bytes (so that listed keys read back exactly).
///
/// # Safety
/// `key` is NULL or points to `len` readable bytes.
unsafe fn key_arg<'a>(key: *const c_char, len: usize) -> ffi::Result<&'a str> {
    // SAFETY: forwarded.
    let k = unsafe { ffi::arg_str(key, len, "key") }?;
    if k.contains('\0') {
        return Err(Error::invalid("argument `key` contains a NUL byte"));
    }
    Ok(k)
}

fn on_cache(
    func: &'static str,
    cache: *const bw_cache,
    body: impl FnOnce(&Cache) -> ffi::Result<()>,
) -> bw_result {
    boundary(func, || {
        // SAFETY: every caller documents that `cache` is NULL or a live handle.
        let c = unsafe { ffi::arg_ref(cache, "cache") }?;
        body(&c.inner)
    })
}

fn make(
    config: CacheConfig,
    clock: *const bw_manual_clock,
    out: Out<*mut bw_cache>,
) -> ffi::Result<()> {
    let inner = Cache::new(config, clock_of(clock)).map_err(respell)?;
    out.write(ffi::into_handle(bw_cache {
        inner: Arc::new(inner),
    }));
    Ok(())
}

/// Makes a cache with `options` (NULL: the defaults, ttl 300000 ms, max_entries 1000,
/// stale_if_error true) reading time from `clock` (NULL: the system clock).
/// `BW_RESULT_CONFIG_INVALID` names the key ("ttl_ms", "max_entries"). Thread-safe.
///
/// # Safety
/// `options` is NULL or readable; `clock` is NULL or live; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_cache_new(
    options: *const bw_cache_options,
    clock: *const bw_manual_clock,
    out: *mut *mut bw_cache,
) -> bw_result {
    boundary("bw_cache_new", || {
        let out = Out::new(out, "out")?;
        // SAFETY: documented requirement on `options`.
        let config = match unsafe { options.as_ref() } {
            None => CacheConfig::default(),
            Some(o) => apply_options(CacheConfig::default(), o),
        };
        make(config, clock, out)
    })
}

/// Makes a cache from a JSON object in config-file spelling (`{"ttl_ms": 60000,
/// "max_entries": 100, "stale_if_error": false}`, or the camelCase `ttl` in ms,
/// `maxEntries`, `staleIfError`); keys left out take the defaults.
/// `BW_RESULT_CONFIG_INVALID` names the key as written. Thread-safe.
///
/// # Safety
/// `json` points to `len` readable bytes; `clock` is NULL or live; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_cache_from_json(
    json: *const c_char,
    len: usize,
    clock: *const bw_manual_clock,
    out: *mut *mut bw_cache,
) -> bw_result {
    boundary("bw_cache_from_json", || {
        // SAFETY: documented requirement on `json`.
        let text = unsafe { ffi::arg_str(json, len, "json") }?;
        let out = Out::new(out, "out")?;
        let config = CacheConfig::from_json(&parse_json(text)?)?;
        make(config, clock, out)
    })
}

/// Applies `options` over the live settings (fields whose `has_` flag is false keep their
/// value). Entries keep the expiry they were stored with; a smaller max_entries evicts least
/// recently used entries now, and their keys go to `*out_evicted` (a new list, least recently
/// used first; NULL: not wanted). Nothing changes on `BW_RESULT_CONFIG_INVALID`. Thread-safe.
///
/// # Safety
/// `cache` is NULL or live; `options` is NULL or readable; `out_evicted` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_cache_configure(
    cache: *const bw_cache,
    options: *const bw_cache_options,
    out_evicted: *mut *mut bw_string_list,
) -> bw_result {
    on_cache("bw_cache_configure", cache, |c| {
        // SAFETY: documented requirement on `options`.
        let o = unsafe { ffi::arg_ref(options, "options") }?;
        let evicted = c.configure(apply_options(c.config(), o)).map_err(respell)?;
        write_list(out_evicted, evicted.iter().map(|(k, _)| k.as_str()));
        Ok(())
    })
}

/// Like `bw_cache_configure`, from a JSON object as for `bw_cache_from_json` (keys left out
/// keep their live values). Thread-safe.
///
/// # Safety
/// `cache` is NULL or live; `json` points to `len` readable bytes; `out_evicted` is NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_cache_configure_json(
    cache: *const bw_cache,
    json: *const c_char,
    len: usize,
    out_evicted: *mut *mut bw_string_list,
) -> bw_result {
    on_cache("bw_cache_configure_json", cache, |c| {
        // SAFETY: documented requirement on `json`.
        let text = unsafe { ffi::arg_str(json, len, "json") }?;
        let config = CacheConfig::from_json_over(&c.config(), &parse_json(text)?)?;
        let evicted = c.configure(config)?;
        write_list(out_evicted, evicted.iter().map(|(k, _)| k.as_str()));
        Ok(())
    })
}

/// Writes the live settings to `*out`. Thread-safe.
///
/// # Safety
/// `cache` is NULL or live; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_cache_get_config(
    cache: *const bw_cache,
    out: *mut bw_cache_config,
) -> bw_result {
    on_cache("bw_cache_get_config", cache, |c| {
        let out = Out::new(out, "out")?;
        let cfg = c.config();
        out.write(bw_cache_config {
            ttl_ms: floor_ms(cfg.ttl),
            max_entries: cfg.max_entries as u64,
            stale_if_error: cfg.stale_if_error,
        });
        Ok(())
    })
}

fn put_common(
    c: &Cache,
    key: &str,
    data: &[u8],
    ttl: Option<u64>,
    info: *mut bw_cache_put_info,
) -> ffi::Result<()> {
    let value: Arc<[u8]> = Arc::from(data);
    let r = match ttl {
        Some(t) => c.put_with_ttl(key.to_string(), value, ms(t)),
        None => c.put(key.to_string(), value),
    };
    let (evicted_key, evicted_value) = match r.evicted {
        Some((k, v)) => (bytes_handle(Arc::from(k.as_bytes())), bytes_handle(v)),
        None => (std::ptr::null_mut(), std::ptr::null_mut()),
    };
    let out = bw_cache_put_info {
        replaced: r.replaced.map_or(std::ptr::null_mut(), bytes_handle),
        evicted_key,
        evicted_value,
    };
    if info.is_null() {
        // Not wanted: release what was displaced.
        // SAFETY: each is NULL or a handle made just above, freed once.
        unsafe {
            ffi::free_handle("bw_cache_put", out.replaced);
            ffi::free_handle("bw_cache_put", out.evicted_key);
            ffi::free_handle("bw_cache_put", out.evicted_value);
        }
    } else {
        OptOut::new(info).write(out);
    }
    Ok(())
}

/// Stores a copy of `data` (`data_len` bytes; NULL with 0 is the empty value) under `key`
/// (`key_len` bytes of UTF-8, no NUL byte) with the cache's TTL, as the most recently used
/// entry; when the cache is full the least recently used entry goes. `out_info` (may be NULL)
/// receives what was displaced, as handles you free. Thread-safe.
///
/// # Safety
/// `cache` is NULL or live; `key` points to `key_len` readable bytes, `data` to `data_len`;
/// `out_info` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_cache_put(
    cache: *const bw_cache,
    key: *const c_char,
    key_len: usize,
    data: *const u8,
    data_len: usize,
    out_info: *mut bw_cache_put_info,
) -> bw_result {
    on_cache("bw_cache_put", cache, |c| {
        // SAFETY: documented requirements on `key` and `data`.
        let (key, data) = unsafe {
            (
                key_arg(key, key_len)?,
                ffi::arg_slice(data, data_len, "data")?,
            )
        };
        put_common(c, key, data, None, out_info)
    })
}

/// `bw_cache_put` with this entry's own TTL (`ttl_ms`; 0 stores it already expired, which
/// only stale-if-error serves). Thread-safe.
///
/// # Safety
/// As `bw_cache_put`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_cache_put_ttl(
    cache: *const bw_cache,
    key: *const c_char,
    key_len: usize,
    data: *const u8,
    data_len: usize,
    ttl_ms: u64,
    out_info: *mut bw_cache_put_info,
) -> bw_result {
    on_cache("bw_cache_put_ttl", cache, |c| {
        // SAFETY: documented requirements on `key` and `data`.
        let (key, data) = unsafe {
            (
                key_arg(key, key_len)?,
                ffi::arg_slice(data, data_len, "data")?,
            )
        };
        put_common(c, key, data, Some(ttl_ms), out_info)
    })
}

/// A fresh lookup: writes a new handle to the value to `*out_value` (free it with
/// `bw_bytes_free`), or NULL when there is no fresh entry (an expired one is a miss here).
/// Marks the entry used and counts a hit or a miss. Thread-safe.
///
/// # Safety
/// `cache` is NULL or live; `key` points to `key_len` readable bytes; `out_value` is NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_cache_get(
    cache: *const bw_cache,
    key: *const c_char,
    key_len: usize,
    out_value: *mut *mut bw_bytes,
) -> bw_result {
    on_cache("bw_cache_get", cache, |c| {
        // SAFETY: documented requirement on `key`.
        let key = unsafe { key_arg(key, key_len) }?;
        let out = Out::new(out_value, "out_value")?;
        out.write(c.get(key).map_or(std::ptr::null_mut(), bytes_handle));
        Ok(())
    })
}

/// The live call failed: the fresh value, or with stale_if_error an expired one. Writes
/// `BW_CACHE_FRESH`, `BW_CACHE_STALE` or `BW_CACHE_MISS` to `*out_lookup` and the value (a
/// handle to free, NULL on a miss) to `*out_value` (may be NULL when you only want to know).
/// Marks the entry used and counts it. Thread-safe.
///
/// # Safety
/// `cache` is NULL or live; `key` points to `key_len` readable bytes; the outputs are NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_cache_on_error(
    cache: *const bw_cache,
    key: *const c_char,
    key_len: usize,
    out_lookup: *mut bw_cache_lookup,
    out_value: *mut *mut bw_bytes,
) -> bw_result {
    on_cache("bw_cache_on_error", cache, |c| {
        // SAFETY: documented requirement on `key`.
        let key = unsafe { key_arg(key, key_len) }?;
        let out = Out::new(out_lookup, "out_lookup")?;
        let hit = c.on_error(key);
        out.write(lookup_to_c(hit.as_ref().map(|h| h.freshness)));
        OptOut::new(out_value).write(hit.map_or(std::ptr::null_mut(), |h| bytes_handle(h.value)));
        Ok(())
    })
}

/// What `bw_cache_on_error` would serve now, without serving it (a pure read: nothing is
/// marked used or counted). This is what a fallback context's `cached` is. Thread-safe.
///
/// # Safety
/// `cache` is NULL or live; `key` points to `key_len` readable bytes; `out_lookup` is NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_cache_status(
    cache: *const bw_cache,
    key: *const c_char,
    key_len: usize,
    out_lookup: *mut bw_cache_lookup,
) -> bw_result {
    on_cache("bw_cache_status", cache, |c| {
        // SAFETY: documented requirement on `key`.
        let key = unsafe { key_arg(key, key_len) }?;
        Out::new(out_lookup, "out_lookup")?.write(lookup_to_c(c.status(key)));
        Ok(())
    })
}

/// Removes the entry for `key`; its value goes to `*out_value` (a handle to free, NULL when
/// there was none; `out_value` may be NULL). Thread-safe.
///
/// # Safety
/// `cache` is NULL or live; `key` points to `key_len` readable bytes; `out_value` is NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_cache_remove(
    cache: *const bw_cache,
    key: *const c_char,
    key_len: usize,
    out_value: *mut *mut bw_bytes,
) -> bw_result {
    on_cache("bw_cache_remove", cache, |c| {
        // SAFETY: documented requirement on `key`.
        let key = unsafe { key_arg(key, key_len) }?;
        let v = c.remove(key);
        if !out_value.is_null() {
            OptOut::new(out_value).write(v.map_or(std::ptr::null_mut(), bytes_handle));
        }
        Ok(())
    })
}

/// Removes every entry (the counters stay); their keys go to `*out_removed` (least recently
/// used first; NULL: not wanted). Thread-safe.
///
/// # Safety
/// `cache` is NULL or live; `out_removed` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_cache_clear(
    cache: *const bw_cache,
    out_removed: *mut *mut bw_string_list,
) -> bw_result {
    on_cache("bw_cache_clear", cache, |c| {
        let removed = c.clear();
        write_list(out_removed, removed.iter().map(|(k, _)| k.as_str()));
        Ok(())
    })
}

/// Removes expired entries (which only stale-if-error could still serve); their keys go to
/// `*out_removed` (least recently used first; NULL: not wanted). Thread-safe.
///
/// # Safety
/// `cache` is NULL or live; `out_removed` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_cache_purge_expired(
    cache: *const bw_cache,
    out_removed: *mut *mut bw_string_list,
) -> bw_result {
    on_cache("bw_cache_purge_expired", cache, |c| {
        let removed = c.purge_expired();
        write_list(out_removed, removed.iter().map(|(k, _)| k.as_str()));
        Ok(())
    })
}

/// Writes the number of entries (fresh or expired) to `*out_len`. Thread-safe.
///
/// # Safety
/// `cache` is NULL or live; `out_len` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_cache_len(cache: *const bw_cache, out_len: *mut usize) -> bw_result {
    on_cache("bw_cache_len", cache, |c| {
        Out::new(out_len, "out_len")?.write(c.len());
        Ok(())
    })
}

/// Writes a new list of the keys, least to most recently used (the eviction order), to
/// `*out_keys`. Thread-safe.
///
/// # Safety
/// `cache` is NULL or live; `out_keys` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_cache_keys(
    cache: *const bw_cache,
    out_keys: *mut *mut bw_string_list,
) -> bw_result {
    on_cache("bw_cache_keys", cache, |c| {
        let out = Out::new(out_keys, "out_keys")?;
        out.write(ffi::into_handle(bw_string_list::from_iter(c.keys())));
        Ok(())
    })
}

/// Writes the counters to `*out`. Thread-safe.
///
/// # Safety
/// `cache` is NULL or live; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_cache_get_stats(
    cache: *const bw_cache,
    out: *mut bw_cache_stats,
) -> bw_result {
    on_cache("bw_cache_get_stats", cache, |c| {
        let out = Out::new(out, "out")?;
        let s = c.stats();
        out.write(bw_cache_stats {
            entries: s.entries as u64,
            hits: s.hits,
            stale_hits: s.stale_hits,
            misses: s.misses,
            evictions: s.evictions,
        });
        Ok(())
    })
}

/// Destroys a cache handle; NULL is a no-op. Policies using the cache keep it alive, and
/// `bw_bytes` handles from it stay valid. Free it exactly once, after every other thread has
/// stopped using the handle.
///
/// # Safety
/// `cache` is NULL or a live handle, not used after this.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bw_cache_free(cache: *mut bw_cache) {
    // SAFETY: documented requirement on `cache`.
    unsafe { ffi::free_handle("bw_cache_free", cache) }
}
