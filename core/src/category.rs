//! Failure categories: what kind of failure a call had. Hosts extract facts from their errors
//! (status codes, errno strings); the core maps them to a category (contract section 4).

crate::names::named_enum! {
    /// The closed set of failure categories. Their snake_case names are the same in every language.
    #[derive(PartialOrd, Ord)]
    #[repr(u8)]
    pub enum Category {
        Network => "network",
        Timeout => "timeout",
        RateLimited => "rate_limited",
        Server => "server",
        Database => "database",
        ExternalApi => "external_api",
        Auth => "auth",
        Client => "client",
        Cancelled => "cancelled",
        Unknown => "unknown",
    }
}

impl Category {
    pub const fn bit(self) -> u16 {
        1 << (self as u8)
    }

    pub fn from_index(i: u8) -> Option<Category> {
        Category::ALL.get(i as usize).copied()
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
