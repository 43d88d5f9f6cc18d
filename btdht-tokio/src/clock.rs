//! The node's time, read from the monotonic clock, and when the runtime should wake.

use btdht::time::Instant;
use std::time::Duration;

/// The node's time: milliseconds since the driver started, on the monotonic clock.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clock {
    start: std::time::Instant,
}

impl Clock {
    pub(crate) fn new() -> Self {
        Clock {
            start: std::time::Instant::now(),
        }
    }

    pub(crate) fn now(&self) -> Instant {
        Instant::from_millis(u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX))
    }

    /// When the runtime should wake for the node's deadline `at`.
    pub(crate) fn wake_at(&self, at: Instant) -> tokio::time::Instant {
        self.start
            .checked_add(Duration::from_millis(at.as_millis()))
            .map_or_else(far_future, tokio::time::Instant::from_std)
    }
}

/// A wake-up time that never comes in practice.
pub(crate) fn far_future() -> tokio::time::Instant {
    tokio::time::Instant::now() + Duration::from_secs(30 * 24 * 3600)
}
