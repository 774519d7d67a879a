//! Classification (contract section 4): hosts extract facts from their errors (an HTTP status,
//! error code strings, a few flags, a Retry-After header) and the core maps them to a
//! [`Category`], so every language classifies the same error the same way. Retry-After header
//! parsing lives here for the same reason.

use std::time::Duration;

use crate::category::Category;

/// What a host could extract from one failed call. Everything is optional.
#[derive(Debug, Clone, Copy, Default)]
pub struct ErrorFacts<'a> {
    /// A user classifier's answer; wins over everything else.
    pub user_category: Option<Category>,
    pub http_status: Option<u16>,
    /// Error code strings, most specific first: errno-like codes (`ECONNREFUSED`), exception
    /// class names along the MRO (`ConnectionRefusedError`), SQLSTATEs (`08006`), driver codes.
    pub codes: &'a [&'a str],
    /// The host's own timeout fired (or the error says it was a timeout).
    pub timeout: bool,
    /// The connection was refused or the name did not resolve: the request was never sent.
    pub connection_refused: bool,
    /// The call was cancelled (asyncio cancellation, an AbortSignal).
    pub cancelled: bool,
    /// The cancellation's reason is a timeout (e.g. `AbortSignal.timeout()`).
    pub abort_reason_timeout: bool,
    /// A server-provided wait, already parsed (see [`parse_retry_after`]).
    pub retry_after: Option<Duration>,
}

/// The core's reading of a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Classification {
    pub category: Category,
    /// The request never reached the server, so retrying is safe even when not idempotent.
    pub not_sent: bool,
    pub retry_after: Option<Duration>,
}

impl Classification {
    pub const fn of(category: Category) -> Self {
        Self {
            category,
            not_sent: false,
            retry_after: None,
        }
    }
}

/// Maps the facts of one failure to its category, in this order: the user's classifier, a
/// cancellation, the HTTP status, the timeout / refused flags, then the first recognised code.
pub fn classify(f: &ErrorFacts<'_>) -> Classification {
    let done = |category, not_sent| Classification {
        category,
        not_sent,
        retry_after: f.retry_after,
    };
    if let Some(c) = f.user_category {
        return done(c, false);
    }
    // An abort whose reason is a timeout (`AbortSignal.timeout()`) is a timeout, however the
    // abort itself surfaced (the flag or an `AbortError` code).
    if f.abort_reason_timeout {
        return done(Category::Timeout, false);
    }
    if f.cancelled {
        return done(Category::Cancelled, false);
    }
    if let Some(status) = f.http_status
        && let Some(c) = classify_status(status)
    {
        return done(c, false);
    }
    if f.connection_refused {
        return done(Category::Network, true);
    }
    if f.timeout {
        return done(Category::Timeout, false);
    }
    for code in f.codes {
        if let Some((c, not_sent)) = classify_code(code) {
            return done(c, not_sent);
        }
    }
    done(Category::Unknown, false)
}

/// The category of an HTTP status, `None` for statuses that are not failures (< 400).
pub fn classify_status(status: u16) -> Option<Category> {
    Some(match status {
        408 => Category::Timeout,
        429 => Category::RateLimited,
        401 | 403 => Category::Auth,
        501 | 505 => Category::Client,
        400..=499 => Category::Client,
        500..=599 => Category::Server,
        _ => return None,
    })
}

/// The category of one error code string, and whether it means "never sent".
pub fn classify_code(code: &str) -> Option<(Category, bool)> {
    let code = code.strip_prefix("builtins.").unwrap_or(code);
    let c = match code {
        "ECONNREFUSED"
        | "ENOTFOUND"
        | "EAI_AGAIN"
        | "ConnectionRefusedError"
        | "socket.gaierror"
        | "gaierror" => return Some((Category::Network, true)),
        "ECONNRESET"
        | "EPIPE"
        | "EHOSTUNREACH"
        | "ENETUNREACH"
        | "ECONNABORTED"
        | "ConnectionError"
        | "ConnectionResetError"
        | "ConnectionAbortedError"
        | "BrokenPipeError" => Category::Network,
        "ETIMEDOUT"
        | "ESOCKETTIMEDOUT"
        | "TimeoutError"
        | "asyncio.TimeoutError"
        | "socket.timeout"
        | "concurrent.futures.TimeoutError" => Category::Timeout,
        "CancelledError"
        | "asyncio.CancelledError"
        | "concurrent.futures.CancelledError"
        | "AbortError" => Category::Cancelled,
        "OperationalError"
        | "InterfaceError"
        | "SQLITE_BUSY"
        | "SQLITE_LOCKED"
        | "ER_LOCK_DEADLOCK"
        | "ER_LOCK_WAIT_TIMEOUT"
        | "ER_CON_COUNT_ERROR"
        | "PROTOCOL_CONNECTION_LOST" => Category::Database,
        _ if is_transient_sqlstate(code) => Category::Database,
        _ => return None,
    };
    Some((c, false))
}

/// SQLSTATE class 08 (connection exceptions), serialization failures and deadlocks (40001,
/// 40P01), too many connections (53300) and admin shutdown (57P01).
fn is_transient_sqlstate(code: &str) -> bool {
    let b = code.as_bytes();
    b.len() == 5
        && b.iter()
            .all(|c| c.is_ascii_digit() || c.is_ascii_uppercase())
        && (code.starts_with("08") || matches!(code, "40001" | "40P01" | "53300" | "57P01"))
}

/// Parses a `Retry-After` header: delay-seconds (integer or decimal) or an HTTP-date, read
/// against `now_wall_ms` (a date in the past means no wait). `None` when unparsable.
pub fn parse_retry_after(value: &str, now_wall_ms: u64) -> Option<Duration> {
    let v = value.trim();
    if v.bytes()
        .next()
        .is_some_and(|b| b.is_ascii_digit() || b == b'.')
    {
        let secs: f64 = v.parse().ok()?;
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs));
    }
    let at_ms = parse_http_date(v)?;
    Some(Duration::from_millis(at_ms.saturating_sub(now_wall_ms)))
}

/// Parses a `retry-after-ms` header (a non-negative number of milliseconds).
pub fn parse_retry_after_ms(value: &str) -> Option<Duration> {
    let ms: f64 = value.trim().parse().ok()?;
    (ms.is_finite() && ms >= 0.0).then(|| Duration::from_secs_f64(ms / 1000.0))
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// An HTTP-date (RFC 9110: IMF-fixdate, RFC 850 or asctime) as ms since the Unix epoch.
pub fn parse_http_date(s: &str) -> Option<u64> {
    let parts: Vec<&str> = s.split([' ', ',']).filter(|p| !p.is_empty()).collect();
    let (day, month, year, time) = match parts.as_slice() {
        // Sun, 06 Nov 1994 08:49:37 GMT
        [_, d, m, y, t, "GMT"] => (d.parse().ok()?, *m, y.parse().ok()?, *t),
        // Sunday, 06-Nov-94 08:49:37 GMT
        [_, dmy, t, "GMT"] => {
            let mut it = dmy.split('-');
            let (d, m, y) = (it.next()?, it.next()?, it.next()?);
            let y: i64 = y.parse().ok()?;
            let y = if y < 100 {
                if y < 70 { 2000 + y } else { 1900 + y }
            } else {
                y
            };
            (d.parse().ok()?, m, y, *t)
        }
        // Sun Nov  6 08:49:37 1994
        [_, m, d, t, y] => (d.parse().ok()?, *m, y.parse().ok()?, *t),
        _ => return None,
    };
    let month = MONTHS.iter().position(|m| *m == month)? as i64 + 1;
    let mut hms = time.split(':').map(|x| x.parse::<i64>().ok());
    let (h, mi, se) = (hms.next()??, hms.next()??, hms.next()??);
    if !(1..=31).contains(&day)
        || !(0..24).contains(&h)
        || !(0..60).contains(&mi)
        || !(0..61).contains(&se)
    {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + h * 3600 + mi * 60 + se;
    u64::try_from(secs).ok().map(|s| s * 1000)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn http_dates_in_all_three_formats() {
        let want = 784_111_777_000; // 1994-11-06T08:49:37Z
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), Some(want));
        assert_eq!(
            parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"),
            Some(want)
        );
        assert_eq!(parse_http_date("Sun Nov  6 08:49:37 1994"), Some(want));
        assert_eq!(
            parse_http_date("Thu, 01 Jan 2026 00:00:00 GMT"),
            Some(1_767_225_600_000)
        );
        assert_eq!(parse_http_date("yesterday"), None);
        assert_eq!(parse_http_date("Sun, 36 Nov 1994 08:49:37 GMT"), None);
    }

    #[test]
    fn retry_after_values() {
        let now = 1_767_225_600_000;
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after(" 1.5 ", now),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            parse_retry_after("Thu, 01 Jan 2026 00:00:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Wed, 31 Dec 2025 00:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("-1", now), None);
        assert_eq!(
            parse_retry_after_ms("250"),
            Some(Duration::from_millis(250))
        );
    }

    #[test]
    fn precedence() {
        let f = ErrorFacts {
            http_status: Some(503),
            codes: &["ECONNREFUSED"],
            ..Default::default()
        };
        assert_eq!(classify(&f).category, Category::Server);
        let f = ErrorFacts {
            codes: &["ConnectionRefusedError", "ConnectionError"],
            ..Default::default()
        };
        assert_eq!(
            classify(&f),
            Classification {
                category: Category::Network,
                not_sent: true,
                retry_after: None
            }
        );
        let f = ErrorFacts {
            cancelled: true,
            abort_reason_timeout: true,
            ..Default::default()
        };
        assert_eq!(classify(&f).category, Category::Timeout);
        assert_eq!(classify(&ErrorFacts::default()).category, Category::Unknown);
        assert_eq!(classify_code("08006"), Some((Category::Database, false)));
        assert_eq!(classify_code("42601"), None);
    }
}
