//! Time as the caller gives it.
//!
//! The crate never reads a clock. Every call that needs the time takes an [`Instant`]: a
//! count of milliseconds since an epoch the caller picks (process start, boot, the Unix
//! epoch — anything monotonic). Durations are [`core::time::Duration`]. All arithmetic
//! saturates, so no value of `now` can make the crate panic.

use core::fmt;
use core::time::Duration;

/// A point in time: milliseconds since an epoch chosen by the caller.
///
/// ```
/// use btdht::time::Instant;
/// use core::time::Duration;
///
/// let t = Instant::from_millis(1_000);
/// assert_eq!(t + Duration::from_millis(500), Instant::from_millis(1_500));
/// assert_eq!(t.saturating_duration_since(Instant::from_millis(4_000)), Duration::ZERO);
/// assert_eq!(Instant::MAX + Duration::from_secs(1), Instant::MAX);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Instant(u64);

impl Instant {
    /// The epoch itself.
    pub const ZERO: Instant = Instant(0);
    /// The latest representable instant; additions saturate here.
    pub const MAX: Instant = Instant(u64::MAX);

    /// An instant `millis` milliseconds after the epoch.
    pub const fn from_millis(millis: u64) -> Self {
        Instant(millis)
    }

    /// Milliseconds since the epoch.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// Time elapsed from `earlier` to `self`, or zero if `earlier` is later.
    pub const fn saturating_duration_since(self, earlier: Instant) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }

    /// `self + d`, saturating at [`Instant::MAX`]. Sub-millisecond parts of `d` are dropped.
    pub fn saturating_add(self, d: Duration) -> Instant {
        let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        Instant(self.0.saturating_add(ms))
    }

    /// `self - d`, saturating at [`Instant::ZERO`].
    pub fn saturating_sub(self, d: Duration) -> Instant {
        let ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        Instant(self.0.saturating_sub(ms))
    }
}

impl core::ops::Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, d: Duration) -> Instant {
        self.saturating_add(d)
    }
}

impl core::ops::Sub<Duration> for Instant {
    type Output = Instant;
    fn sub(self, d: Duration) -> Instant {
        self.saturating_sub(d)
    }
}

impl fmt::Debug for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}ms", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_saturates_instead_of_panicking() {
        assert_eq!(Instant::MAX + Duration::MAX, Instant::MAX);
        assert_eq!(Instant::ZERO - Duration::from_secs(1), Instant::ZERO);
        assert_eq!(
            Instant::ZERO.saturating_duration_since(Instant::MAX),
            Duration::ZERO
        );
    }

    #[test]
    fn duration_since_counts_milliseconds() {
        let a = Instant::from_millis(10);
        let b = Instant::from_millis(250);
        assert_eq!(b.saturating_duration_since(a), Duration::from_millis(240));
    }
}
