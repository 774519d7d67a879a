//! Failure categories: what kind of failure a call had. Hosts extract facts from their errors
//! (status codes, errno strings); the core maps them to a category (contract section 4).

use std::fmt;
use std::str::FromStr;

/// The closed set of failure categories. Their snake_case names are the same in every language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Category {
    Network = 0,
    Timeout = 1,
    RateLimited = 2,
    Server = 3,
    Database = 4,
    ExternalApi = 5,
    Auth = 6,
    Client = 7,
    Cancelled = 8,
    Unknown = 9,
}

impl Category {
    pub const ALL: [Category; 10] = [
        Category::Network,
        Category::Timeout,
        Category::RateLimited,
        Category::Server,
        Category::Database,
        Category::ExternalApi,
        Category::Auth,
        Category::Client,
        Category::Cancelled,
        Category::Unknown,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Category::Network => "network",
            Category::Timeout => "timeout",
            Category::RateLimited => "rate_limited",
            Category::Server => "server",
            Category::Database => "database",
            Category::ExternalApi => "external_api",
            Category::Auth => "auth",
            Category::Client => "client",
            Category::Cancelled => "cancelled",
            Category::Unknown => "unknown",
        }
    }

    pub const fn bit(self) -> u16 {
        1 << (self as u8)
    }

    pub fn from_index(i: u8) -> Option<Category> {
        Category::ALL.get(i as usize).copied()
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Category {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        Category::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or(())
    }
}

/// A set of categories as a bit mask: copyable, allocation-free membership tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CategorySet(u16);

impl CategorySet {
    pub const EMPTY: CategorySet = CategorySet(0);

    pub const fn of(cats: &[Category]) -> Self {
        let mut bits = 0;
        let mut i = 0;
        while i < cats.len() {
            bits |= cats[i].bit();
            i += 1;
        }
        CategorySet(bits)
    }

    #[inline]
    pub const fn contains(self, c: Category) -> bool {
        self.0 & c.bit() != 0
    }

    pub fn insert(&mut self, c: Category) {
        self.0 |= c.bit();
    }

    pub fn iter(self) -> impl Iterator<Item = Category> {
        Category::ALL.into_iter().filter(move |c| self.contains(*c))
    }
}

/// Categories a breaker ignores by default: the caller's own mistakes and cancellations.
pub const DEFAULT_IGNORED: CategorySet = CategorySet::of(&[Category::Client, Category::Cancelled]);

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for c in Category::ALL {
            assert_eq!(c.as_str().parse::<Category>(), Ok(c));
            assert_eq!(Category::from_index(c as u8), Some(c));
        }
        assert!("nope".parse::<Category>().is_err());
    }

    #[test]
    fn sets() {
        assert!(DEFAULT_IGNORED.contains(Category::Client));
        assert!(!DEFAULT_IGNORED.contains(Category::Server));
        assert_eq!(DEFAULT_IGNORED.iter().count(), 2);
    }
}
