//! Routing-table settings: bucket sizes, the replacement cache, when a node turns
//! questionable or bad, and the address and BEP 42 policies.

use crate::addr::LocalAddresses;
use core::time::Duration;

/// BEP 5: a node is questionable after this long without news.
pub const QUIET_PERIOD: Duration = Duration::from_secs(15 * 60);

/// What to do with ids that do not follow BEP 42.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum SecureIds {
    /// Accept them, but never let them displace a secure entry that is not bad.
    #[default]
    Prefer,
    /// Refuse them.
    Require,
    /// Treat all ids alike.
    Ignore,
}

/// Bucket capacities.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum BucketSizing {
    /// Every bucket holds `k`.
    #[default]
    Uniform,
    /// libtorrent's: the four farthest buckets hold 128, 64, 32 and 16 (at least `k`).
    WideFar,
}

/// Routing-table settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RoutingConfig {
    /// Bucket size, BEP 5's K (default 8).
    pub k: usize,
    /// Replacement-cache size per bucket (default 8; 0 disables the cache).
    pub replacement_cache: usize,
    /// Failed queries in a row that make a node bad (default 3).
    pub max_failures: u8,
    /// Entries (including cached candidates) per IP address (default 1).
    pub max_per_ip: usize,
    /// Whether non-global addresses are accepted (default: refused).
    pub local_addresses: LocalAddresses,
    /// BEP 42 policy (default: prefer secure ids).
    pub secure_ids: SecureIds,
    /// Bucket capacities (default: uniform `k`).
    pub bucket_sizing: BucketSizing,
    /// Most buckets the table splits into (default [`MAX_BUCKETS`](super::MAX_BUCKETS),
    /// 160: no limit; at least 1). Once the table has this many, the last bucket holds
    /// every id sharing at least `max_buckets - 1` leading bits with ours and splits no
    /// more, so the table holds at most `max_buckets × (k + replacement_cache)` nodes
    /// whatever the network's size. A network of `n` nodes fills about
    /// `log2(n / k) + 1` buckets (21 for ten million), so a cap below that only makes
    /// lookups for targets near our own id start a hop or two farther out.
    pub max_buckets: usize,
    /// Quiet time after which a node is questionable and a bucket needs refreshing
    /// (default [`QUIET_PERIOD`], 15 minutes).
    pub quiet_period: Duration,
}

impl Default for RoutingConfig {
    fn default() -> Self {
        RoutingConfig {
            k: 8,
            replacement_cache: 8,
            max_failures: 3,
            max_per_ip: 1,
            local_addresses: LocalAddresses::Refuse,
            secure_ids: SecureIds::Prefer,
            bucket_sizing: BucketSizing::Uniform,
            max_buckets: super::MAX_BUCKETS,
            quiet_period: QUIET_PERIOD,
        }
    }
}
