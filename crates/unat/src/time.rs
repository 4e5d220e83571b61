//! Time as the caller tells it: the library never reads a clock.
//!
//! An [`Instant`] is a number of milliseconds since an origin the caller
//! picks (boot, process start, a test's zero). Pass the current one to
//! every call that may refresh or expire state; keep it monotonic.

use core::fmt;
use core::ops::Add;
use core::time::Duration;

/// A point on the caller's monotonic clock, in milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Instant(u64);

impl Instant {
    /// The origin of the clock.
    pub const ZERO: Instant = Instant(0);
    /// A time that never comes: what "no expiry" expires at.
    pub const NEVER: Instant = Instant(u64::MAX);

    /// `ms` milliseconds after the origin.
    pub const fn from_millis(ms: u64) -> Instant {
        Instant(ms)
    }

    /// `s` seconds after the origin.
    pub const fn from_secs(s: u64) -> Instant {
        Instant(s.saturating_mul(1000))
    }

    /// Milliseconds since the origin.
    pub const fn millis(self) -> u64 {
        self.0
    }

    /// The time elapsed from `earlier` to `self` (zero if `earlier` is later).
    pub fn saturating_since(self, earlier: Instant) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }
}

impl Add<Duration> for Instant {
    type Output = Instant;
    /// Saturates at [`Instant::NEVER`], so `now + Duration::MAX` never expires.
    fn add(self, d: Duration) -> Instant {
        let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        Instant(self.0.saturating_add(ms))
    }
}

impl fmt::Display for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if *self == Instant::NEVER {
            f.write_str("never")
        } else {
            write!(f, "{}.{:03}s", self.0 / 1000, self.0 % 1000)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adding_saturates_at_never() {
        assert_eq!(
            Instant::from_secs(5) + Duration::from_secs(2),
            Instant::from_secs(7)
        );
        assert_eq!(Instant::from_secs(5) + Duration::MAX, Instant::NEVER);
        assert_eq!(
            Instant::from_secs(3).saturating_since(Instant::from_secs(5)),
            Duration::ZERO
        );
    }
}
