//! BEP 51 `sample_infohashes`: a random sample of the stored info-hashes, reused for an
//! interval.

use super::{PeerStore, select, store_rng};
use crate::id::Id;
use crate::rng::Rng;
use crate::time::Instant;
use arrayvec::ArrayVec;
use core::time::Duration;

/// The most info-hashes a `sample_infohashes` answer carries (libtorrent's default).
pub const MAX_SAMPLES: usize = 20;

/// BEP 51's upper bound for `interval`: 6 hours.
const MAX_INTERVAL: Duration = Duration::from_secs(21_600);

/// Settings of an [`InfoHashSampler`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SamplerConfig {
    /// How long one sample is served, and the `interval` sent (default 6 hours, the
    /// BEP's maximum and libtorrent's default; clamped to it).
    pub interval: Duration,
    /// Info-hashes per sample (default and at most [`MAX_SAMPLES`]).
    pub max_samples: usize,
    /// While the sample holds fewer than `max_samples` and the store has grown, it is
    /// rebuilt after this long instead (default 1 minute), so a node that just started
    /// does not serve an empty sample for hours.
    pub rebuild_growing_after: Duration,
}

impl Default for SamplerConfig {
    fn default() -> Self {
        SamplerConfig {
            interval: MAX_INTERVAL,
            max_samples: MAX_SAMPLES,
            rebuild_growing_after: Duration::from_secs(60),
        }
    }
}

/// One `sample_infohashes` answer: `samples`, `num` and `interval`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InfoHashSample {
    /// `samples`: a uniformly random subset of the stored info-hashes.
    pub samples: ArrayVec<Id, MAX_SAMPLES>,
    /// `num`: how many info-hashes the store held when the sample was taken.
    pub num: usize,
    /// `interval`: how long before asking this node again.
    pub interval: Duration,
}

/// Builds BEP 51 samples from a [`PeerStore`] and reuses each one for its interval, as
/// the BEP allows, so answering an indexer costs a copy, not a walk of the store.
///
/// ```
/// use btdht::store::{InfoHashSampler, PeerStore, PeerStoreConfig, SamplerConfig};
/// use btdht::time::Instant;
/// use btdht::Id;
///
/// let mut peers = PeerStore::new(PeerStoreConfig::default(), [1; 32]);
/// let now = Instant::from_millis(0);
/// for i in 0..30u8 {
///     let peer = core::net::SocketAddr::from(([203, 0, 113, i], 6881));
///     peers.announce(now, Id::from_bytes([i; 20]), peer, false).unwrap();
/// }
/// let mut sampler = InfoHashSampler::new(SamplerConfig::default(), [2; 32]);
/// let answer = sampler.sample(now, &peers);
/// assert_eq!((answer.samples.len(), answer.num), (20, 30));
/// assert_eq!(answer.interval.as_secs(), 21_600);
/// ```
#[derive(Debug)]
pub struct InfoHashSampler {
    config: SamplerConfig,
    current: InfoHashSample,
    /// When `current` was built; `None` before the first sample.
    built: Option<Instant>,
    rng: Rng,
}

impl InfoHashSampler {
    /// A sampler; `seed` (secret) drives the choice of samples.
    pub fn new(config: SamplerConfig, seed: [u8; 32]) -> Self {
        InfoHashSampler {
            config,
            current: InfoHashSample::default(),
            built: None,
            rng: store_rng(seed, b"samples"),
        }
    }

    /// The settings.
    pub fn config(&self) -> &SamplerConfig {
        &self.config
    }

    /// The answer to serve at `now`: the current sample, rebuilt from `store` when its
    /// interval is over (or, while it is not full, when the store has grown and
    /// `rebuild_growing_after` passed). `interval` counts down to the next rebuild.
    pub fn sample(&mut self, now: Instant, store: &PeerStore) -> &InfoHashSample {
        let interval = self.config.interval.min(MAX_INTERVAL);
        let max = self.config.max_samples.min(MAX_SAMPLES);
        let rebuild = match self.built {
            None => true,
            Some(at) => {
                let age = now.saturating_duration_since(at);
                age >= interval
                    || (self.current.samples.len() < max
                        && age >= self.config.rebuild_growing_after
                        && store.live_len(now) > self.current.num)
            }
        };
        if rebuild {
            let num = store.live_len(now);
            let mut samples = ArrayVec::new();
            let mut rng = self.rng.stream();
            select(store.info_hashes(now), num, max, &mut rng, |id| {
                let _ = samples.try_push(id);
            });
            self.current = InfoHashSample {
                samples,
                num,
                interval,
            };
            self.built = Some(now);
        } else if let Some(at) = self.built {
            self.current.interval = interval.saturating_sub(now.saturating_duration_since(at));
        }
        &self.current
    }
}
